"""Pure tooling around the policy: the main.cf reader, explain, doctor's plans, and the
generation of types files and documentation. It decides nothing an agent does."""
