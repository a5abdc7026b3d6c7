/* A user-mode environment for the riscv-tests ISA tests (written for rvai; it
 * replaces riscv-tests' env/, which expects machine mode).  The test number
 * lives in gp; passing exits 0, failing exits with the failing test's number,
 * so `rvai run` reports which case failed.  test_macros.h comes from the
 * riscv-tests checkout (tests/test_riscv_tests.py). */
#define RVTEST_RV64U
#define TESTNUM gp
#define RVTEST_CODE_BEGIN .text; .globl _start; _start:
#define RVTEST_CODE_END
#define RVTEST_PASS li a0, 0; li a7, 93; ecall
#define RVTEST_FAIL mv a0, TESTNUM; li a7, 93; ecall
#define RVTEST_DATA_BEGIN
#define RVTEST_DATA_END
