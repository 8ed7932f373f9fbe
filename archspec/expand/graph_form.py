"""The graph form: named entries with explicit inputs (`from`), ordered by their dependencies."""

from __future__ import annotations

from typing import Any

from archspec.errors import did_you_mean
from archspec.expand.scope import ITEM_KEYS, Scope, Value
from archspec.ops.base import REGISTRY
from archspec.source import Pos, SDict, SList


class GraphForm:
    def graph_form(self, val: Any, pos: Pos | None, scope: Scope, x: str) -> Value:
        """Named entries with explicit inputs (`from`), ordered by their dependencies."""
        if not isinstance(val, SList) or not val:
            self.errors.add("graph takes a non-empty list of named entries", pos, scope.prefix[:-1])
            return None
        entries: dict[str, tuple[SDict, Pos | None, list[str]]] = {}
        prev = "in"
        for i, e in enumerate(val):
            epos = val.at(i)
            name = self._name(e, "name", scope) if isinstance(e, SDict) else None
            if name is None:
                self.errors.add("each graph entry needs a 'name'", epos, scope.prefix[:-1])
                return None
            if name in entries or name == "in":
                self.errors.add(f"two graph entries are named '{name}'", epos, scope.prefix[:-1])
                return None
            src = e.get("from", prev)
            entries[name] = (e, epos, [src] if isinstance(src, str) else list(src))
            prev = name
        inputs = {"in", self.spec.input.name} if not scope.prefix else {"in"}
        order = self._toposort(entries, inputs, scope)
        if order is None:
            return None
        values: dict[str, Value] = {n: x for n in inputs}
        for name in order:
            e, epos, srcs = entries[name]
            ins = [values[s] for s in srcs]
            if any(v is None for v in ins):
                values[name] = None
                continue
            key = next((k for k in e if k not in ITEM_KEYS), None)
            if key in REGISTRY and REGISTRY[key].arity is None:
                values[name] = self._keyed(key, e[key], e.at(key), epos, scope, ins, name)
            elif len(ins) != 1:
                self.errors.add(f"'{key}' takes one input, got {len(ins)}", e.at("from"), scope.prefix + name)
                values[name] = None
            else:
                item = SDict((k, v) for k, v in e.items() if k != "from")
                item.pos, item.key_pos, item.val_pos = e.pos, e.key_pos, e.val_pos
                values[name] = self.item(item, epos, scope, ins[0])
        return values[next(reversed(entries))]

    def _toposort(self, entries: dict, inputs: set[str], scope: Scope) -> list[str] | None:
        order, state, ok = [], {}, True  # state: 1 visiting, 2 done

        def visit(n: str, trail: list[str]) -> None:
            nonlocal ok
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = " -> ".join([*trail[trail.index(n):], n])
                self.errors.add(f"the graph has a cycle: {cycle}", entries[n][1], scope.prefix + n)
                ok = False
                return
            state[n] = 1
            e, epos, srcs = entries[n]
            for s in srcs:
                if s in inputs:
                    continue
                if s not in entries:
                    self.errors.add(f"'from' names no entry: '{s}'", e.at("from") if "from" in e else epos,
                                    scope.prefix + n, did_you_mean(s, [*entries, *inputs]))
                    ok = False
                    continue
                visit(s, [*trail, n])
            state[n] = 2
            order.append(n)

        for n in entries:
            visit(n, [])
        return order if ok else None

