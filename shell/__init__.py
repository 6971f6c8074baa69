"""shell: the imperative shell that VCS calls; the only place with I/O."""
