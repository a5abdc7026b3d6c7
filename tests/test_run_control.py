"""Stopping a run from outside: the per-call instruction budget, the wall-time
limit, Machine.interrupt() from another thread and Ctrl-C (SIGINT), all through
the C core's one stop-request mechanism.  Each stop must leave the Machine
usable.  No wall-clock assertions: subprocess/join timeouts are hang guards."""
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from conftest import CODE, load_program
from rvai.emu import Machine, errors
from tiny_elf import write_then_loop

# a0 += 1 forever, then (at CODE + 8) a function returning a0 + 1.
LOOP = ["addi a0, a0, 1", "j -4", "addi a0, a0, 1", "ret"]
INC = CODE + 8
HANG_GUARD = 120


def looping_machine() -> Machine:
    m = Machine(vlen=128)
    load_program(m, LOOP)
    return m


def test_timeout_raises_time_limit_exceeded_and_machine_stays_usable():
    m = looping_machine()
    with pytest.raises(errors.TimeLimitExceeded) as info:
        m.call(CODE, timeout=0.05)
    e = info.value
    assert isinstance(e, TimeoutError) and isinstance(e, errors.EmulatorError)
    assert e.pc in (CODE, CODE + 4) and "limit 0.05 s" in str(e)
    assert m.call(INC, 41) == 42


def test_machine_wide_timeout_and_per_call_override():
    m = Machine(vlen=128, timeout=0.05)
    load_program(m, LOOP)
    with pytest.raises(errors.TimeLimitExceeded):
        m.call(CODE)
    with pytest.raises(errors.BudgetExceeded):   # the budget comes first here
        m.call(CODE, budget=1000, timeout=60)


def test_per_call_budget_counts_exactly():
    m = looping_machine()
    with pytest.raises(errors.BudgetExceeded):
        m.call(CODE, 0, budget=1001)
    # 1001 instructions: 501 addi and 500 jumps, whatever the run-loop slicing.
    assert m.instret == 1001 and m.x(10) == 501
    big = (1 << 16) * 3 + 7      # crosses several slices of the run loop
    m.reset_counters()
    with pytest.raises(errors.BudgetExceeded):
        m.call(CODE, 0, budget=big)
    assert m.instret == big and m.x(10) == (big + 1) // 2


@pytest.mark.parametrize("kw", [{"budget": 0}, {"budget": -5}, {"budget": 1.5}, {"budget": True},
                                {"timeout": 0}, {"timeout": -1.0}, {"timeout": "1"},
                                {"timeout": float("nan")}])
def test_bad_limits_are_rejected_before_running(kw):
    m = looping_machine()
    with pytest.raises((ValueError, TypeError)):
        m.call(INC, 1, **kw)
    assert m.instret == 0
    with pytest.raises((ValueError, TypeError)):
        Machine(vlen=128, **kw)


def test_interrupt_from_another_thread():
    m = looping_machine()
    caught = []

    def runner():
        try:
            m.call(CODE)
        except errors.Interrupted as e:
            caught.append(e)

    t = threading.Thread(target=runner)
    t.start()
    while t.is_alive():          # a request made before the run starts is cleared by it: repeat
        m.interrupt()
        t.join(0.01)
    assert caught and caught[0].pc in (CODE, CODE + 4)
    assert m.call(INC, 1) == 2   # the request does not outlive the run it stopped


def test_two_machines_run_in_parallel_threads():
    """Thread A runs an endless guest; while it runs, thread B completes a run
    on its own Machine.  If the C run held the GIL, B could never start and the
    join below would hang (the guard fails the test)."""
    a, b = looping_machine(), looping_machine()
    started, a_result = threading.Event(), []

    def run_a():
        from rvai.emu.linux import Linux

        class Sink:
            writes = 0

            def write(self, data):
                # The second write comes from the loop: A is past its first
                # block, and in the translating tier past translating its loop.
                Sink.writes += 1
                if Sink.writes == 2:
                    started.set()

            def flush(self):
                pass
        a.os = Linux(a, stdout=Sink())
        # An endless loop of write(1, CODE, 1): the writes tell us the guest is running.
        load_at = 0x20000
        load_program(a, ["li a7, 64", "li a0, 1", "lui a1, 16", "li a2, 1", "ecall", "j -16"], load_at)
        try:
            a.call(load_at)
        except errors.Interrupted:
            a_result.append(a.instret)

    ta = threading.Thread(target=run_a)
    ta.start()
    assert started.wait(HANG_GUARD)
    with pytest.raises(errors.BudgetExceeded):
        b.call(CODE, 0, budget=2_000_001)
    assert b.x(10) == 1_000_001
    assert ta.is_alive()          # A's guest is endless: it was running all along
    while ta.is_alive():
        a.interrupt()
        ta.join(0.01)
    assert a_result and a_result[0] > 5


def test_shared_machine_calls_take_turns():
    """One thread runs the guest while another unmaps its code: the unmap waits
    for the run (the Machine's lock) instead of pulling memory from under it."""
    m = looping_machine()
    done = []

    def run():
        try:
            m.call(CODE)
        except errors.Interrupted:
            done.append("interrupted")

    t = threading.Thread(target=run)
    t.start()
    while m.lock.acquire(blocking=False):   # wait until the runner holds the lock
        m.lock.release()
        t.join(0.001)
    unmapper = threading.Thread(target=lambda: (m.unmap(CODE, 4096), done.append("unmapped")))
    unmapper.start()
    while t.is_alive():
        m.interrupt()
        t.join(0.01)
    unmapper.join(HANG_GUARD)
    assert "interrupted" in done and "unmapped" in done
    with pytest.raises(ValueError, match="no code at 0x10000"):
        m.call(CODE)


SIGINT_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import CODE, load_program
    from rvai.emu import Machine
    from rvai.emu.linux import Linux
    m = Machine(vlen=128)
    m.os = Linux(m, stdout=sys.stdout.buffer)
    # write(1, "started\\n") from the guest, then loop forever
    load_program(m, ["li a7, 64", "li a0, 1", "lui a1, 17", "li a2, 8", "ecall",
                     "addi a0, a0, 1", "j -4", "addi a0, a0, 1", "ret"])
    m.map(0x11000, 4096, "rw")
    m.write(0x11000, b"started\\n")
    try:
        m.call(CODE)
    except KeyboardInterrupt as e:
        print("KeyboardInterrupt", e, flush=True)
    print("again", m.call(CODE + 28, 41), flush=True)
    m.call(CODE)
""")


def _interrupt_after_start(cmd, python_child: bool) -> tuple[int, str]:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"started\n"
        p.send_signal(signal.SIGINT)
        line = p.stdout.readline().decode()
        if python_child:
            assert line.startswith("KeyboardInterrupt")
            assert p.stdout.readline() == b"again 42\n"   # the Machine ran again
            assert p.stdout.readline() == b"started\n"
            p.send_signal(signal.SIGINT)                   # uncaught this time
        p.wait(HANG_GUARD)
        return p.returncode, p.stderr.read().decode()
    finally:
        p.kill()


def test_sigint_stops_a_call_and_the_machine_runs_again():
    tests = os.path.dirname(os.path.abspath(__file__))
    code, err = _interrupt_after_start([sys.executable, "-c", SIGINT_CHILD.format(tests=tests)], True)
    assert code != 0 and "KeyboardInterrupt" in err


def test_sigint_ends_rvai_run_with_130(tmp_path):
    exe = tmp_path / "loop"
    exe.write_bytes(write_then_loop(b"started\n"))
    rvai = [sys.executable, "-c", "import sys; from rvai.cli import main; main()"]
    code, err = _interrupt_after_start([*rvai, "run", str(exe)], False)
    assert code == 130, err


def test_cli_timeout_exit_code(tmp_path):
    exe = tmp_path / "loop"
    exe.write_bytes(write_then_loop(b"started\n"))
    r = subprocess.run([sys.executable, "-m", "rvai.cli", "run", "--timeout", "0.2", str(exe)],
                       capture_output=True, timeout=HANG_GUARD)
    assert r.returncode == 106 and r.stdout == b"started\n"
    assert b"wall-time limit" in r.stderr


def test_odd_pc_faults_as_misaligned_fetch():
    """The ISA has no odd instruction addresses (IALIGN is 16 with C): a run
    that starts at one must fault, not execute the instruction at pc - 1."""
    m = looping_machine()
    with pytest.raises(ValueError, match="no code"):   # call() checks its address first
        m.call(INC + 1, 5)
    m.x(1, 0x10)
    m.pc = INC + 1
    with pytest.raises(errors.MisalignedAccess, match="instruction address misaligned") as info:
        m.resume()
    assert info.value.addr == INC + 1 and m.instret == 0


def test_four_threads_calling_one_kernel_through_ops():
    """Each rvai.ops call runs on its own Machine; from four threads at once the
    results must all equal NumPy's (machines created concurrently share only the
    decoder tables, which are built once)."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("llvmlite")
    import rvai.ops as ops
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((3, 40)).astype(np.float32) for _ in range(8)]
    results = {}

    def work(k):
        for i in range(k, len(xs), 4):
            results[i] = ops.softmax(xs[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_GUARD * 5)
    assert sorted(results) == list(range(len(xs)))
    for i, x in enumerate(xs):
        e = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
        np.testing.assert_allclose(results[i], e / e.sum(axis=-1, keepdims=True), rtol=1e-5, atol=1e-6)
