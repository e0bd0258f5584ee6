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
#include <sys/uio.h>
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
	uintptr_t first = (uintptr_t)p, last = first + n - 1;
	int ret;

	if (!p)
		return -EFAULT;
	if (n < 1 || n > RP_MIN_PAGE)
		return -EINVAL;
	ret = rp_probe_word(first & ~(uintptr_t)3);
	if (ret == 0 && rp_crosses_page(p, n))
		ret = rp_probe_word(last & ~(uintptr_t)3);
	return ret;
}

/* rp_vm_read() could not ask the kernel: read the memory directly. */
#define RP_NO_VM_READ	(-ENOSYS)

/*
 * Read up to n (<= RP_MIN_PAGE) bytes at src in this process into dst with
 * process_vm_readv(2), which reports an unreadable page as EFAULT (nothing
 * read) or as a short count (the bytes before it). The remote range is cut
 * where it crosses a page, so the count ends exactly at the bad page
 * whichever way the kernel splits a transfer. Returns the count, -EFAULT,
 * or RP_NO_VM_READ for any other error: EPERM or ENOSYS under some seccomp
 * filters and ptrace policies, ENOMEM.
 */
static ssize_t rp_vm_read(void *dst, const void *src, size_t n)
{
	struct iovec local = { .iov_base = dst, .iov_len = n };
	struct iovec remote[2];
	unsigned long nremote = 1;
	uintptr_t from = (uintptr_t)src;
	ssize_t got;

	remote[0].iov_base = (void *)from;
	remote[0].iov_len = n;
	if (rp_crosses_page(src, n)) {
		size_t head = RP_MIN_PAGE - from % RP_MIN_PAGE;

		remote[0].iov_len = head;
		remote[1].iov_base = (void *)(from + head);
		remote[1].iov_len = n - head;
		nremote = 2;
	}
	got = process_vm_readv(getpid(), &local, 1, remote, nremote, 0);
	if (got >= 0)
		return got;
	return errno == EFAULT ? -EFAULT : RP_NO_VM_READ;
}

/*
 * rp_copy_in() - copy n (1 to RP_MIN_PAGE) bytes of a caller's input.
 *
 * A non-faulting memcpy(dst, src, n): process_vm_readv(2) on the calling
 * process. Returns 0, or -EFAULT if src is NULL or any of the n bytes
 * cannot be read (a short read included). Where process_vm_readv() is not
 * allowed (seccomp, ptrace policy: an errno other than EFAULT), it falls
 * back to a plain memcpy(), which is what the library did before.
 */
int rp_copy_in(void *dst, const void *src, size_t n)
{
	ssize_t got;

	if (!src)
		return -EFAULT;
	if (n < 1 || n > RP_MIN_PAGE)
		return -EINVAL;
	got = rp_vm_read(dst, src, n);
	if (got == RP_NO_VM_READ) {
		memcpy(dst, src, n);
		return 0;
	}
	return got == (ssize_t)n ? 0 : -EFAULT;
}

/*
 * rp_copy_in_str() - copy the start of a caller's string.
 *
 * Copies up to n (1 to RP_MIN_PAGE) bytes at src into dst and returns how
 * many it copied: n, or fewer when the string runs into memory that cannot
 * be read (a string that ends just before an unmapped page is fine). The
 * caller looks at dst[0 .. count) only, and meets -EFAULT if it needs a
 * byte beyond before it finds the NUL. -EFAULT if src is NULL or its first
 * byte cannot be read. The fallback (see rp_copy_in()) reads byte by byte
 * and stops after the NUL, as a plain string reader would.
 */
ssize_t rp_copy_in_str(char *dst, const char *src, size_t n)
{
	ssize_t got;
	size_t i;

	if (!src)
		return -EFAULT;
	if (n < 1 || n > RP_MIN_PAGE)
		return -EINVAL;
	got = rp_vm_read(dst, src, n);
	if (got != RP_NO_VM_READ)
		return got > 0 ? got : -EFAULT;
	for (i = 0; i < n; i++) {
		dst[i] = src[i];
		if (!dst[i])
			return i + 1;
	}
	return n;
}
