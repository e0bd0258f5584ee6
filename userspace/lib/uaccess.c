// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: touching the caller's memory without risking a crash.
 *
 * SPEC §2: "a bad pointer yields -EFAULT, never a crash in the library".
 * Buffers the library hands to the kernel are checked by the kernel's
 * copy_{to,from}_user(); these helpers cover the few places where the
 * library itself reads a caller's input (a token, a token's text) or
 * writes a caller's output (a handle, a token, an fd...). They go through a
 * system call, which sees a bad address as EFAULT where a plain load or
 * store would raise SIGSEGV or SIGBUS. No global state: thread-safe.
 *
 * They check the memory at the time of the call only: a caller that unmaps
 * its buffer from another thread meanwhile gets what it asked for.
 */
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/*
 * The smallest page size of any Linux architecture. Real page boundaries
 * are all multiples of it, so a range of at most RP_MIN_PAGE bytes lies in
 * at most two pages, split (if at all) where it crosses a multiple of it.
 */
#define RP_MIN_PAGE	4096UL

/* Whether [p, p + n) crosses a multiple of RP_MIN_PAGE; n >= 1. */
static int rp_crosses_page(const void *p, size_t n)
{
	uintptr_t first = (uintptr_t)p, last = first + n - 1;

	return first / RP_MIN_PAGE != last / RP_MIN_PAGE;
}

/*
 * Check, without changing it, that the aligned 32-bit word at w (w % 4 == 0)
 * can be stored to: futex(2) FUTEX_WAKE_OP used as a non-faulting "atomic
 * add 0". The kernel does an atomic read-modify-write of *w (lock xadd on
 * x86, an LL/SC or cmpxchg loop elsewhere) that adds 0: the word keeps its
 * value, even with other threads storing to it at the same moment, as a
 * plain load and store back could not promise. If the page is not mapped
 * writable it first fault_in_user_writeable()s it, so a page that is
 * writable but not faulted in yet (never touched, copy-on-write, swapped
 * out) is fine, and only then fails with EFAULT: no mapping, a read-only or
 * PROT_NONE one, a file mapping past the end of its file (where a store
 * would raise SIGBUS), an address no user pointer can have. Unlike
 * getcpu(2), the probe this replaces, it never stores a value of its own:
 * a call refused after the probe leaves the caller's output as it was.
 *
 * FUTEX_PRIVATE_FLAG: the futex key is then the address in this process,
 * the kernel neither looks up the page nor pins it, and no futex word of
 * another process can be concerned.
 *
 * Nobody is woken, though nr_wake = nr_wake2 = 0 is not enough for that:
 * the kernel wakes the first matching waiter before it compares the count
 * to the limit, so 0 wakes one, on each of the two words (futex_wake_op()
 * in kernel/futex/waitwake.c; seen on Linux 6.18). So the first wake is on
 * a word of our own stack (uaddr), that no thread waits on; and the second,
 * on w, happens only when the old value compares true, which with
 * FUTEX_OP_CMP_EQ and cmparg 0x800 (sign-extended from 12 bits: -2048) is
 * for *w == 0xfffff800 only: not 0 (a fresh output), nor a small counter,
 * state or flag. Should another thread wait on exactly that word with
 * exactly that value, it gets a spurious wakeup, which futex(2) tells every
 * waiter to expect (it re-checks the word and waits again); and a futex
 * word that overlaps an output is one the library is about to overwrite.
 *
 * nr_wake2 travels in the timeout argument: FUTEX_WAKE_OP takes no timeout
 * and reads that argument as an integer. The raw system call, as glibc has
 * no futex() wrapper; every argument a long, as syscall() reads them.
 *
 * Any error but EFAULT means the memory could not be checked this way: the
 * system call refused (ENOSYS, a seccomp filter's EPERM), an EINVAL that a
 * 4-byte-aligned word does not get from today's kernels, an ENOMEM from an
 * out-of-memory fault-in. Then say it is fine, and the library's own store
 * behaves as it did before the check existed.
 */
static int rp_probe_word(uintptr_t w)
{
	uint32_t none = 0;	/* the first wake's word: no waiter */
	long ret;

	ret = syscall(SYS_futex, (long)&none,
		      (long)(FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG),
		      0L /* nr_wake */, 0L /* nr_wake2, in the timeout slot */,
		      (long)w,
		      (long)FUTEX_OP(FUTEX_OP_ADD, 0, FUTEX_OP_CMP_EQ, 0x800));
	if (ret >= 0)
		return 0;
	return errno == EFAULT ? -EFAULT : 0;
}

/*
 * Probe the word holding the first byte of [p, p + n) and, when the range
 * reaches into a second page, the word holding the last (see
 * rp_probe_out()). 0, -EFAULT (NULL too), or -EINVAL for an n out of range.
 */
static int rp_probe_range(const void *p, size_t n, int (*word)(uintptr_t))
{
	uintptr_t first = (uintptr_t)p, last = first + n - 1;
	int ret;

	if (!p)
		return -EFAULT;
	if (n < 1 || n > RP_MIN_PAGE)
		return -EINVAL;
	ret = word(first & ~(uintptr_t)3);
	if (ret == 0 && rp_crosses_page(p, n))
		ret = word(last & ~(uintptr_t)3);
	return ret;
}

/*
 * rp_probe_out() - may the library store n bytes at p?
 *
 * Called before the ioctl whose result goes to p, so that a bad pointer is
 * refused before the kernel changes anything: a refused call changes
 * nothing, where a check after the ioctl would have to leak (or undo) a new
 * handle, fd or pin. The probe changes no byte (see rp_probe_word()), so an
 * output is still set only on success.
 *
 * p may have any alignment and n (1 to RP_MIN_PAGE) any size: an output is
 * a handle, an fd, a pointer, a struct, a token's 16 bytes or a char[33].
 * The futex word must be 4-byte aligned, so the probe is on the word that
 * holds the first byte, (uintptr_t)p & ~3, and, when the range reaches
 * into a second page, on the word that holds the last byte. Writability is
 * a property of the page, and an aligned word never crosses a page
 * boundary (pages are multiples of 4): the word holding a byte lies in
 * that byte's page, so probing it answers for the byte, whichever bytes
 * beside it belong to. As n <= RP_MIN_PAGE, the range lies in one or two
 * pages: one system call for most outputs, two at most.
 *
 * Returns 0 or -EFAULT (NULL too). An n out of range is a bug of the
 * library: -EINVAL.
 */
int rp_probe_out(void *p, size_t n)
{
	return rp_probe_range(p, n, rp_probe_word);
}

/*
 * Check, without changing anything, that the aligned 32-bit word at w can be
 * read: futex(2) FUTEX_WAIT with a zero timeout. The kernel reads *w with
 * get_user() and fails with EFAULT where a plain load would raise SIGSEGV;
 * a readable word gives EAGAIN (it is not 0x800) or, if it is, ETIMEDOUT at
 * once: nobody waits, nothing is queued for longer than the call. Read-only
 * memory is fine, as it must be for an input (a token in .rodata). Any other
 * error (ENOSYS, a seccomp filter's EPERM) means it cannot be checked this
 * way: say it is fine, and the plain read behaves as before the check.
 *
 * Not process_vm_readv(2): it needs CONFIG_CROSS_MEMORY_ATTACH, which a
 * minimal kernel (the project's debug kernel was one) does not have, and
 * every kernel has futexes.
 */
static int rp_probe_in_word(uintptr_t w)
{
	const struct timespec zero = { 0, 0 };
	long ret;

	ret = syscall(SYS_futex, (long)w, (long)(FUTEX_WAIT | FUTEX_PRIVATE_FLAG),
		      0x800L, (long)&zero, 0L, 0L);
	if (ret >= 0)
		return 0;
	return errno == EFAULT ? -EFAULT : 0;
}

/*
 * rp_copy_in() - copy n (1 to RP_MIN_PAGE) bytes of a caller's input.
 *
 * A non-faulting memcpy(dst, src, n): the word holding the first byte, and
 * the one holding the last when the range reaches into a second page, are
 * checked with rp_probe_in_word() (readability is per page, as
 * rp_probe_out() explains), then the bytes are copied. Returns 0, or
 * -EFAULT if src is NULL or any of the n bytes cannot be read.
 */
int rp_copy_in(void *dst, const void *src, size_t n)
{
	int ret = rp_probe_range(src, n, rp_probe_in_word);

	if (ret == 0)
		memcpy(dst, src, n);
	return ret;
}

/*
 * rp_copy_in_str() - copy the start of a caller's string.
 *
 * Copies bytes at src into dst up to and including the NUL, or n (1 to
 * RP_MIN_PAGE) bytes, whichever comes first, and returns how many it
 * copied; fewer when the string runs into memory that cannot be read (a
 * string that ends just before an unmapped page is fine): each page is
 * checked with rp_probe_in_word() before its first byte is read. The caller
 * looks at dst[0 .. count) only, and meets -EFAULT if it needs a byte beyond
 * before it finds the NUL. -EFAULT if src is NULL or its first byte cannot
 * be read.
 */
ssize_t rp_copy_in_str(char *dst, const char *src, size_t n)
{
	size_t i;

	if (!src)
		return -EFAULT;
	if (n < 1 || n > RP_MIN_PAGE)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uintptr_t at = (uintptr_t)(src + i);

		if ((i == 0 || at % RP_MIN_PAGE == 0) &&
		    rp_probe_in_word(at & ~(uintptr_t)3))
			return i ? (ssize_t)i : -EFAULT;
		dst[i] = src[i];
		if (!dst[i])
			return i + 1;
	}
	return n;
}
