"""The revision history of one key, split into generations.

A generation is one life of the key: the revisions from the put that created
it up to and including the tombstone that deleted it, oldest first. Only the
last generation is open; it is empty while the key does not exist. Invariants:
there is at least one generation; every generation but the last is non-empty
and ends with its tombstone; revisions increase strictly from the first
generation to the last.

Worked example for key "k", revisions written main.sub, t for a tombstone:

    put@2.0  put@3.0  delete@5.1  put@6.0  delete@8.0

    generations: [2.0, 3.0, 5.1t]  [6.0, 8.0t]  []

Reading "k" at revision r takes the newest revision with main <= r in the
generation alive at r:

    r=4 -> 3.0    r=5 -> absent (deleted at 5)    r=7 -> 6.0    r=9 -> absent

Compacting at revision c forgets every revision with main <= c except the
newest of them, which reads at c still need; if that one is a tombstone the
key was absent at c and it goes too. Generations left empty disappear, and a
key whose only generation is the empty open one leaves the index:

    compact(3): [3.0, 5.1t]  [6.0, 8.0t]  []
    compact(5): [6.0, 8.0t]  []             (2.0 and 3.0 gone, and 5.1t with them)
    compact(6): [6.0, 8.0t]  []
    compact(8): []                           (the key leaves the index)

The revisions that survive a compaction are collected into an `available` set
so the store knows which stored revisions <= c to keep.
"""

from __future__ import annotations

from bisect import bisect_left

from etcdpy.mvcc.revision import Revision


class KeyIndex:
    __slots__ = ("generations", "key")

    def __init__(self, key: bytes, rev: Revision) -> None:
        self.key = key
        self.generations: list[list[Revision]] = [[rev]]

    def latest(self) -> Revision | None:
        """The revision of the key's current value, or None while it is deleted."""
        last = self.generations[-1]
        return last[-1] if last else None

    def get(self, bound: bytes) -> Revision | None:
        """The revision visible to a read at main < bound (see revision.bound), or None if absent then."""
        gens = self.generations
        last = gens[-1]
        if last and last[-1] < bound:
            return last[-1]
        i = len(gens) - 1
        while i >= 0:
            gen = gens[i]
            if gen:
                if i != len(gens) - 1 and gen[-1] < bound:
                    return None  # deleted at or before the read revision
                if gen[0] < bound:
                    return gen[bisect_left(gen, bound) - 1]
            i -= 1
        return None

    def put(self, rev: Revision) -> None:
        """Record a put at rev (greater than every revision here); starts a generation if deleted."""
        self.generations[-1].append(rev)

    def tombstone(self, rev: Revision) -> None:
        """Record a deletion at rev; the key must currently exist."""
        self.generations[-1].append(rev)
        self.generations.append([])

    def undo_put(self) -> None:
        self.generations[-1].pop()

    def undo_tombstone(self) -> None:
        self.generations.pop()
        self.generations[-1].pop()

    def is_empty(self) -> bool:
        return len(self.generations) == 1 and not self.generations[0]

    def compact(self, bound: bytes, available: set[Revision]) -> None:
        """Forget revisions with main < bound except those still needed; see the module doc."""
        gen_idx, rev_idx = self._compaction_point(bound, available)
        gen = self.generations[gen_idx]
        if gen:
            if rev_idx != -1:
                del gen[:rev_idx]
            if len(gen) == 1 and gen_idx != len(self.generations) - 1:
                # Only the tombstone of a closed generation is left: nothing to read there.
                available.discard(gen[0])
                gen_idx += 1
        del self.generations[:gen_idx]

    def keep(self, bound: bytes, available: set[Revision]) -> None:
        """Add to `available` what `compact(bound, ...)` would keep, changing nothing."""
        if self.is_empty():
            return
        gen_idx, rev_idx = self._compaction_point(bound, available)
        gen = self.generations[gen_idx]
        if gen and rev_idx == len(gen) - 1 and gen_idx != len(self.generations) - 1:
            available.discard(gen[rev_idx])

    def _compaction_point(self, bound: bytes, available: set[Revision]) -> tuple[int, int]:
        """The first generation not deleted before bound, and in it the index of the newest
        revision below bound (-1 if none), which is added to `available`."""
        gens = self.generations
        gen_idx = 0
        while gen_idx < len(gens) - 1 and gens[gen_idx][-1] < bound:
            gen_idx += 1
        gen = gens[gen_idx]
        rev_idx = bisect_left(gen, bound) - 1
        if rev_idx >= 0:
            available.add(gen[rev_idx])
        return gen_idx, rev_idx
