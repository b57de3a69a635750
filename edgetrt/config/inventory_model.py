"""An Ansible inventory in memory: groups, hosts, their variables, and Ansible's rules for them.

The INI and YAML readers (inventory_formats.py) build an :class:`Inventory` through the same few
operations Ansible's own inventory data offers (add a group, add a host to a group, add a child
group, set a variable), then :meth:`Inventory.finish` applies what Ansible does once every source
is read: top-level groups become children of ``all``, hosts in no group go to ``ungrouped``, and
each group gets its depth. :meth:`Inventory.host_vars` merges a host's variables in Ansible's order
of precedence (lowest first): ``all``'s inventory vars, the host's other groups' inventory vars
(sorted by depth, ``ansible_group_priority``, name), ``group_vars/all``, ``group_vars/<group>``
files in the same order, the host's inventory vars, ``host_vars/<host>`` files. A later layer
replaces a key outright (Ansible's default ``hash_behaviour = replace``).

Every variable keeps where it was set (``file:line``) so that an error about it can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgetrt.errors import ConfigError

ALL, UNGROUPED = "all", "ungrouped"
#: Ansible reads this group variable as the group's rank among its siblings, not as a variable
PRIORITY_VAR = "ansible_group_priority"


@dataclass(frozen=True)
class Encrypted:
    """A ``!vault`` value: kept as it is, refused where edgetrt would have to read it."""

    ciphertext: str


@dataclass
class InventoryGroup:
    name: str
    where: str
    hosts: list[str] = field(default_factory=list)      # direct members, in the order added
    children: list[str] = field(default_factory=list)   # direct child groups, in the order added
    parents: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    var_where: dict[str, str] = field(default_factory=dict)
    priority: int = 1
    depth: int = 0
    #: variables from group_vars/<name> files beside the inventory, with where each was set
    file_vars: dict[str, Any] = field(default_factory=dict)
    file_var_where: dict[str, str] = field(default_factory=dict)


@dataclass
class InventoryHost:
    name: str
    where: str                                            # where the host first appears
    groups: list[str] = field(default_factory=list)       # direct groups, in the order joined
    vars: dict[str, Any] = field(default_factory=dict)
    var_where: dict[str, str] = field(default_factory=dict)
    file_vars: dict[str, Any] = field(default_factory=dict)
    file_var_where: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostVar:
    """One merged variable of a host: its value and the ``file:line`` that set it."""

    value: Any
    where: str


class Inventory:
    """Groups and hosts in the order an inventory file first names them."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.groups: dict[str, InventoryGroup] = {}
        self.hosts: dict[str, InventoryHost] = {}
        self._members: set[tuple[str, str]] = set()  # (group, host): lists alone make 50k hosts O(n²)
        for name in (ALL, UNGROUPED):
            self.add_group(name, str(self.path))
        self.add_child(ALL, UNGROUPED, str(self.path))

    # ---- building (the readers call these) ----------------------------------------------------
    def add_group(self, name: str, where: str) -> InventoryGroup:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: group names must be non-empty strings, not {name!r}")
        if name not in self.groups:
            self.groups[name] = InventoryGroup(name, where)
        return self.groups[name]

    def add_host(self, name: str, group: str, where: str, port: int | None = None) -> InventoryHost:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: host names must be non-empty strings, not {name!r}",
                              hint="quote a host name that YAML would read as a number")
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = InventoryHost(name, where)
            # As Ansible: a ``host:port`` spelling counts only where the host is first named.
            if port is not None:
                self.set_host_var(name, "ansible_port", port, where)
        if (group, name) not in self._members:
            self._members.add((group, name))
            self.groups[group].hosts.append(name)
            host.groups.append(group)
        return host

    def add_child(self, parent: str, child: str, where: str) -> None:
        if parent == child:
            raise ConfigError(f"{where}: group {child!r} cannot be its own child")
        group, sub = self.groups[parent], self.groups[child]
        if child in group.children:
            return
        if parent in self._descendants(child):
            raise ConfigError(f"{where}: making {child!r} a child of {parent!r} creates a loop of groups")
        group.children.append(child)
        if parent not in sub.parents:
            sub.parents.append(parent)

    def set_group_var(self, group: str, key: Any, value: Any, where: str) -> None:
        _check_var_name(key, where)
        entry = self.groups[group]
        if key == PRIORITY_VAR:
            try:
                entry.priority = int(value)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: {PRIORITY_VAR} must be a whole number, not {value!r}") from None
            return
        entry.vars[key] = value
        entry.var_where[key] = where

    def set_host_var(self, host: str, key: Any, value: Any, where: str) -> None:
        _check_var_name(key, where)
        entry = self.hosts[host]
        entry.vars[key] = value
        entry.var_where[key] = where

    def finish(self) -> "Inventory":
        """Ansible's reconciliation once everything is read (see the module docstring)."""
        for name, group in self.groups.items():
            if name != ALL and not group.parents:
                self.add_child(ALL, name, group.where)
        ungrouped = self.groups[UNGROUPED]
        leaving = set()
        for name, host in self.hosts.items():
            groups = self.groups_of(name)
            if UNGROUPED in groups:
                if groups - {ALL, UNGROUPED}:
                    leaving.add(name)
                    host.groups.remove(UNGROUPED)
            elif groups <= {ALL}:
                ungrouped.hosts.append(name)
                host.groups.append(UNGROUPED)
        ungrouped.hosts = [name for name in ungrouped.hosts if name not in leaving]
        self._members = {(g, h) for g, h in self._members if not (g == UNGROUPED and h in leaving)}
        depths: dict[str, int] = {}
        for name in self.groups:
            self.groups[name].depth = self._depth(name, depths)
        return self

    # ---- reading -------------------------------------------------------------------------------
    def groups_of(self, host: str) -> set[str]:
        """Every group the host belongs to, directly or through a child group (``all`` too)."""
        found = set()
        for group in self.hosts[host].groups:
            found |= {group} | self._ancestors(group)
        return found

    def hosts_of(self, group: str) -> list[str]:
        """The group's hosts and its descendants' hosts, in inventory order (first appearance)."""
        members = set(self.groups[group].hosts)
        for child in self._descendants(group):
            members.update(self.groups[child].hosts)
        return [name for name in self.hosts if name in members]

    def host_vars(self, host: str) -> dict[str, HostVar]:
        """The host's variables as Ansible merges them (see the module docstring)."""
        ranked = sorted((self.groups[g] for g in self.groups_of(host) if g != ALL),
                        key=lambda g: (g.depth, g.priority, g.name))
        everyone, entry = self.groups[ALL], self.hosts[host]
        layers = [(everyone.vars, everyone.var_where)]
        layers += [(g.vars, g.var_where) for g in ranked]
        layers += [(everyone.file_vars, everyone.file_var_where)]
        layers += [(g.file_vars, g.file_var_where) for g in ranked]
        layers += [(entry.vars, entry.var_where), (entry.file_vars, entry.file_var_where)]
        merged: dict[str, HostVar] = {}
        for values, where in layers:
            for key, value in values.items():
                merged[key] = HostVar(value, where[key])
        return merged

    # ---- the group graph -----------------------------------------------------------------------
    def _ancestors(self, group: str) -> set[str]:
        return self._walk(group, "parents")

    def _descendants(self, group: str) -> set[str]:
        return self._walk(group, "children")

    def _walk(self, group: str, relation: str) -> set[str]:
        seen: set[str] = set()
        todo = list(getattr(self.groups[group], relation))
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(getattr(self.groups[name], relation))
        return seen

    def _depth(self, name: str, memo: dict[str, int]) -> int:
        """Longest path from ``all`` (Ansible's Group.depth); the graph has no loops by now."""
        stack = [name]
        while stack:  # iterative: a chain of thousands of groups must not hit the recursion limit
            current = stack[-1]
            pending = [p for p in self.groups[current].parents if p not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            parents = self.groups[current].parents
            memo[current] = 1 + max(memo[p] for p in parents) if parents else 0
        return memo[name]


def _check_var_name(key: Any, where: str) -> None:
    if not isinstance(key, str) or not key:
        raise ConfigError(f"{where}: variable names must be non-empty strings, not {key!r}")
