"""Image.symbol_at through elf.SymbolIndex (one sort, a binary search per address)
against the rule its docstring states, applied by brute force over every symbol;
and Machine.symbol_at / symbol_finder's ``name+0xoff`` over several images."""
from hypothesis import given, settings, strategies as st

from rvai.emu import Machine
from rvai.emu.elf import Image, SymbolIndex

NAMES = st.text(alphabet="abcdef_", min_size=1, max_size=4)
# few distinct starts, so that symbols share them and sized ones end before others begin
SYMBOLS = st.dictionaries(NAMES, st.tuples(st.sampled_from([0x100, 0x104, 0x110, 0x200, 0x1000]),
                                           st.sampled_from([0, 0, 2, 4, 16, 0x300])), max_size=12)
ADDRS = st.integers(0xf0, 0x1400)


def nearest_by_rule(table: dict[str, tuple[int, int]], addr: int):
    """The docstring's rule, symbol by symbol: of the symbols covering addr
    (a sized one only inside it, an unsized one from its start on), the highest
    start; at one start a sized one before an unsized one; then the
    alphabetically first name."""
    covering = [(start, size, name) for name, (start, size) in table.items()
                if start <= addr and (size == 0 or addr < start + size)]
    if not covering:
        return None
    start, size, name = min(covering, key=lambda c: (-c[0], c[1] == 0, c[2]))
    return name, addr - start


def image_of(table: dict[str, tuple[int, int]]) -> Image:
    return Image("exec", [], {n: s for n, (s, _) in table.items()}, {n: z for n, (_, z) in table.items() if z})


@settings(max_examples=300, deadline=None)
@given(SYMBOLS, st.lists(ADDRS, min_size=1, max_size=20))
def test_symbol_at_follows_its_rule(table, addrs):
    image = image_of(table)
    index = SymbolIndex(image.symbols, image.symbol_sizes)
    for addr in addrs:
        want = nearest_by_rule(table, addr)
        assert index.at(addr) == want
        assert image.symbol_at(addr) == want


@settings(max_examples=100, deadline=None)
@given(SYMBOLS, SYMBOLS, st.lists(ADDRS, min_size=1, max_size=10))
def test_a_machine_asks_its_images_in_load_order(first, second, addrs):
    m = Machine()
    m.images = [image_of(first), image_of(second)]
    find = m.symbol_finder()
    for addr in addrs:
        hit = nearest_by_rule(first, addr) or nearest_by_rule(second, addr)
        want = None if hit is None else (f"{hit[0]}+0x{hit[1]:x}" if hit[1] else hit[0])
        assert find(addr) == want
        assert m.symbol_at(addr) == want
