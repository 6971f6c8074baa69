"""The sample main.cf files in docs/samples: they read, with our generated types files
included, every SunJES resource in them validates, and each shows the dependencies its
configuration is about."""

from __future__ import annotations

from pathlib import Path

import pytest

from jescore import record
from jescore.policy.declaration import validate
from jescore.policy.registry import POLICIES
from jescore.result import Failure, Success
from jescore.tooling.typesfile import all_files
from jescore.tooling.vcsconf import parse_many, values_for
from jescore.tooling.vcsconf_model import Configuration, Group, GroupDependency, Resource

SAMPLES = Path(__file__).resolve().parent.parent / "docs" / "samples"

# The bundled types the samples use are VCS's, not ours: a stand-in for its types.cf that
# declares just the attributes the samples set, so that every resource gets checked.
BUNDLED_SUBSET = """
type NIC (
    static str ArgList[] = { Device }
    str Device
)
type IP (
    static str ArgList[] = { Device, Address, NetMask }
    str Device
    str Address
    str NetMask
)
type DiskGroup (
    static str ArgList[] = { DiskGroup }
    str DiskGroup
)
type Mount (
    static str ArgList[] = { MountPoint, BlockDevice, FSType, FsckOpt }
    str MountPoint
    str BlockDevice
    str FSType
    str FsckOpt
)
type Zone (
    static str ArgList[] = { ZoneName }
    str ZoneName
)
"""

NAMES = (
    "config1-single-group.cf",
    "config2-group-per-component.cf",
    "config3-scalable.cf",
    "ms63-http-requires-imap.cf",
    "zones-msg.cf",
    "zones-ldap.cf",
    "zones-mmp.cf",
)
SOFT_ON_DIRECTORY = GroupDependency("dir_sg", "online", "global", "soft")


def load(name: str) -> Configuration:
    text = (SAMPLES / name).read_text()
    available = {"types.cf": BUNDLED_SUBSET, **all_files()}
    first = parse_many([(name, text)])
    assert isinstance(first, Success), str(first.failure())
    missing = [inc for inc in first.unwrap().includes if inc not in available]
    assert not missing, f"{name} includes files we do not have: {missing}"
    texts = [(name, text), *((inc, available[inc]) for inc in first.unwrap().includes)]
    result = parse_many(texts)
    if isinstance(result, Failure):
        pytest.fail(str(result.failure()))
    return result.unwrap()


def dependencies(conf: Configuration, group: str) -> list[GroupDependency]:
    found = conf.group(group)
    assert found is not None
    return [
        GroupDependency(d.child, d.category, d.location, d.rigidity) for d in found.dependencies
    ]


def links(conf: Configuration) -> set[tuple[str, str]]:
    return {(lk.parent, lk.child) for g in conf.groups for lk in g.links}


def requires_transitively(conf: Configuration, parent: str, child: str) -> bool:
    edges = links(conf)
    seen, todo = set(), [parent]
    while todo:
        node = todo.pop()
        for p, c in edges:
            if p == node and c not in seen:
                seen.add(c)
                todo.append(c)
    return child in seen


def test_the_sample_list_is_complete() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.cf")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_resource_has_a_known_type_and_every_sunjes_resource_validates(name: str) -> None:
    conf = load(name)
    assert conf.resources(), name
    for group, res in conf.resources():
        assert conf.type_def(res.type_name) is not None, f"{res.name}: type {res.type_name}"
        policy = POLICIES.get(res.type_name)
        if policy is None:
            continue
        result = validate(policy.declaration, values_for(policy.declaration, res))
        assert isinstance(result, Success), f"{group.name}/{res.name}: {result.failure()}"


@pytest.mark.parametrize("name", NAMES)
def test_zone_samples_and_only_they_use_the_zone_types(name: str) -> None:
    conf = load(name)
    zoned = name.startswith("zones-")
    assert any(inc.endswith("_zone.cf") for inc in conf.includes) is zoned
    for _, res in conf.resources():
        if res.type_name in POLICIES:
            assert ("ContainerName" in res.values) is zoned, res.name
    assert any(res.type_name == "Zone" for _, res in conf.resources()) is zoned


def test_config1_is_one_group_with_the_whole_suite() -> None:
    conf = load("config1-single-group.cf")
    assert [g.name for g in conf.groups] == ["jes_sg"]
    kinds = sorted(res.type_name for _, res in conf.resources())
    expected = ["NIC", "IP", "DiskGroup", "Mount", "Mount", "SunJESLDAP", "SunJESAdm"]
    assert kinds == sorted([*expected, "SunJESMsg", "SunJESMsg"])
    group = conf.group("jes_sg")
    assert group is not None
    core, services = group.resource("jes_msg_core"), group.resource("jes_msg_services")
    assert core is not None
    assert services is not None
    assert core.values["MsgServices"] == ("core", "49994")
    assert services.values["MsgServices"] == (
        "smtp",
        "25",
        "imap",
        "143",
        "pop",
        "110",
        "http",
        "80",
    )
    assert {("jes_msg_services", "jes_msg_core"), ("jes_msg_core", "jes_ldap")} <= links(conf)
    assert ("jes_adm", "jes_ldap") in links(conf)
    # Critical is the engine's: read from the file, dropped before validation.
    adm = group.resource("jes_adm")
    assert adm is not None
    assert adm.values["Critical"] == ("0",)
    assert "Critical" not in values_for(POLICIES["SunJESAdm"].declaration, adm)


def test_config2_component_groups_need_the_directory_group_online_global_soft() -> None:
    conf = load("config2-group-per-component.cf")
    assert [g.name for g in conf.groups] == ["dir_sg", "store_sg", "webmail_sg", "mta_sg"]
    assert dependencies(conf, "dir_sg") == []
    for name in ("store_sg", "webmail_sg", "mta_sg"):
        assert dependencies(conf, name) == [SOFT_ON_DIRECTORY], name
    directory = conf.group("dir_sg")
    assert directory is not None
    assert sorted(r.type_name for r in directory.resources if r.type_name in POLICIES) == [
        "SunJESAdm",
        "SunJESLDAP",
    ]
    store = conf.group("store_sg")
    assert store is not None
    services = sorted(
        r.values["MsgServices"] for r in store.resources if r.type_name == "SunJESMsg"
    )
    assert services == [("core", "49994"), ("imap", "143", "pop", "110")]
    assert ("store_access", "store_core") in links(conf)
    # Each component group is an installation of its own, with its own core processes.
    for group_name, service, core in (
        ("webmail_sg", "webmail_http", "webmail_core"),
        ("mta_sg", "mta_smtp", "mta_core"),
    ):
        group = conf.group(group_name)
        assert group is not None
        found = group.resource(core)
        assert found is not None, core
        assert found.values["MsgServices"] == ("core", "49994")
        assert (service, core) in links(conf)


def test_config3_scales_out_behind_the_multiplexor() -> None:
    conf = load("config3-scalable.cf")
    names = [g.name for g in conf.groups]
    assert names == [
        "dir_sg", "mta_in_sg", "mta_out_sg", "mmp_sg", "store1_sg", "store2_sg", "store3_sg",
    ]  # fmt: skip
    for name in names[1:]:
        assert dependencies(conf, name) == [SOFT_ON_DIRECTORY], name
    mmp = conf.group("mmp_sg")
    assert mmp is not None
    proxy = mmp.resource("mmp_proxy")
    assert proxy is not None
    assert proxy.values["ServerType"] == ("MMP",)
    assert proxy.values["MsgServices"] == ("imap", "143", "pop", "110")
    for index in (1, 2, 3):
        group = conf.group(f"store{index}_sg")
        assert group is not None
        msg = {
            r.name: r.values["MsgServices"] for r in group.resources if r.type_name == "SunJESMsg"
        }
        assert msg == {
            f"store{index}_core": ("core", "49994"),
            f"store{index}_access": ("imap", "143", "pop", "110"),
        }
        assert (f"store{index}_access", f"store{index}_core") in links(conf)
    for side in ("in", "out"):
        group = conf.group(f"mta_{side}_sg")
        assert group is not None
        msg = {
            r.name: r.values["MsgServices"] for r in group.resources if r.type_name == "SunJESMsg"
        }
        assert msg == {f"mta_{side}_core": ("core", "49994"), f"mta_{side}_smtp": ("smtp", "25")}
        assert (f"mta_{side}_smtp", f"mta_{side}_core") in links(conf)
    assert "SunJESMsgTypes51.cf" in conf.includes


def test_ms63_webmail_requires_imap() -> None:
    conf = load("ms63-http-requires-imap.cf")
    assert ("wm_http", "wm_imap") in links(conf)
    assert ("wm_imap", "wm_core") in links(conf)
    assert requires_transitively(conf, "wm_http", "wm_core")


def msg_instance(conf: Configuration, res: Resource) -> tuple[str, str, str] | None:
    """(ServerType, ContainerName, ServerRoot) of a SunJESMsg resource, with the type's
    defaults for what the resource leaves out; None for other resources. A Messaging
    Server instance is one ServerRoot (in one zone, for the zone samples)."""
    if res.type_name != "SunJESMsg":
        return None
    typedef = conf.type_def("SunJESMsg")
    assert typedef is not None

    def value(attr: str) -> str:
        raw = res.values.get(attr)
        if raw is None:
            found = typedef.attr(attr)
            raw = found.default if found is not None else ()
        return raw[0] if raw else ""

    return value("ServerType"), value("ContainerName"), value("ServerRoot")


def is_core(res: Resource) -> bool:
    return res.values.get("MsgServices", ())[:1] == ("core",)


def group_requires(conf: Configuration, parent: str, child: str) -> bool:
    """The parent group needs the child group online, directly or through other groups."""
    seen, todo = set(), [parent]
    while todo:
        found = conf.group(todo.pop())
        assert found is not None
        for dep in found.dependencies:
            if dep.category == "online" and dep.child not in seen:
                seen.add(dep.child)
                todo.append(dep.child)
    return child in seen


def core_problems(conf: Configuration) -> list[str]:
    """The seed guide: MTA, POP and IMAP servers need the core processes (store, scheduler,
    watcher) of their instance, which a core resource (MsgServices { core = <watcher
    port> }) manages. So every ServerType MSG instance with services has exactly one core
    resource, with the same ServerRoot, and each service resource of that instance
    requires it: through `requires` links in its group, or, in another group, through
    group dependencies. Multiplexors (MMP) run no core processes. What breaks the rule."""
    cores: dict[tuple[str, str, str], list[tuple[Group, Resource]]] = {}
    services: list[tuple[Group, Resource, tuple[str, str, str]]] = []
    for group, res in conf.resources():
        instance = msg_instance(conf, res)
        if instance is None or instance[0] != "MSG":
            continue
        if is_core(res):
            cores.setdefault(instance, []).append((group, res))
        else:
            services.append((group, res, instance))
    problems: list[str] = []
    for group, res, instance in services:
        found = cores.get(instance, [])
        if len(found) != 1:
            named = [r.name for _, r in found]
            problems.append(f"{res.name}: {len(found)} core resources for {instance[2]} {named}")
            continue
        ((core_group, core),) = found
        if core_group.name == group.name:
            if not requires_transitively(conf, res.name, core.name):
                problems.append(f"{res.name} does not require {core.name}")
        elif not group_requires(conf, group.name, core_group.name):
            problems.append(f"group {group.name} ({res.name}) does not need {core_group.name}")
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_every_messaging_server_service_stands_on_its_instance_core(name: str) -> None:
    assert core_problems(load(name)) == [], name


def _without(
    conf: Configuration, group_name: str, resources: set[str], links_from: set[str]
) -> Configuration:
    """conf with resources dropped from a group, and their links and those of links_from."""

    def cut(group: Group) -> Group:
        if group.name != group_name:
            return group
        return record.replace(
            group,
            resources=tuple(r for r in group.resources if r.name not in resources),
            links=tuple(
                lk
                for lk in group.links
                if lk.parent not in links_from | resources and lk.child not in resources
            ),
        )

    return record.replace(conf, groups=tuple(cut(g) for g in conf.groups))


def test_the_core_rule_catches_a_missing_core_or_link() -> None:
    conf = load("config2-group-per-component.cf")
    no_core = _without(conf, "webmail_sg", {"webmail_core"}, set())
    assert core_problems(no_core) == [
        "webmail_http: 0 core resources for /jes/webmail/SUNWmsgsr []"
    ]
    unlinked = _without(conf, "mta_sg", set(), {"mta_smtp"})
    assert core_problems(unlinked) == ["mta_smtp does not require mta_core"]
    # The store's core in its own group: the access group must need the core's group.
    store = conf.group("store_sg")
    assert store is not None
    core = store.resource("store_core")
    access = store.resource("store_access")
    assert core is not None
    assert access is not None
    split = [
        Group("core_sg", {}, (core,)),
        Group(
            "access_sg",
            {},
            (access,),
            dependencies=(GroupDependency("core_sg", "online", "local", "firm"),),
        ),
    ]
    assert core_problems(Configuration(types=conf.types, groups=tuple(split))) == []
    apart = [split[0], record.replace(split[1], dependencies=())]
    assert core_problems(Configuration(types=conf.types, groups=tuple(apart))) == [
        "group access_sg (store_access) does not need core_sg"
    ]


@pytest.mark.parametrize(
    ("name", "resources"),
    [
        ("zones-msg.cf", ("mailzone_core", "mailzone_services")),
        ("zones-ldap.cf", ("ldapzone_ldap",)),
        ("zones-mmp.cf", ("mmpzone_proxy",)),
    ],
)
def test_zone_resources_name_the_zone_they_stand_on(name: str, resources: tuple[str, ...]) -> None:
    conf = load(name)
    (group,) = conf.groups
    (zone,) = [r for r in group.resources if r.type_name == "Zone"]
    assert not any(r.type_name == "SunJESAdm" for r in group.resources)
    for res_name in resources:
        res = group.resource(res_name)
        assert res is not None
        assert res.values["ContainerName"] == zone.values["ZoneName"]
        assert requires_transitively(conf, res_name, zone.name)
