// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * librefpool: lifecycle events - watches, and reading what they queue.
 *
 * Events queue on the session itself: its fd polls POLLIN while any are
 * queued, so rp_events_fd() hands out that fd and there is nothing to
 * create or close.
 */
#include <poll.h>
#include <time.h>

#include "internal.h"

_Static_assert(RP_EV_FREED == REFPOOL_EV_FREED &&
	       RP_EV_SEALED == REFPOOL_EV_SEALED &&
	       RP_EV_GC == REFPOOL_EV_GC &&
	       RP_EV_OVERFLOW == REFPOOL_EV_OVERFLOW, "event bits");
RP_SAME_FIELD(rp_event, refpool_event, cookie);
RP_SAME_FIELD(rp_event, refpool_event, id);
RP_SAME_FIELD(rp_event, refpool_event, events);
RP_SAME_FIELD(rp_event, refpool_event, reserved);
_Static_assert(sizeof(struct rp_event) == REFPOOL_EVENT_SIZE_VER0,
	       "rp_event is refpool_event");

RP_EXPORT int rp_watch(struct rp_pool *p, rp_handle_t h, uint32_t events,
		       uint64_t cookie)
{
	struct refpool_watch args = {
		.handle = h,
		.events = events,
		.cookie = cookie,
	};

	if (!p)
		return -EINVAL;
	return rp_ioctl(p, REFPOOL_IOC_WATCH, &args);
}

RP_EXPORT int rp_watch_token(struct rp_pool *p, const rp_token_t *tok,
			     uint32_t events, uint64_t cookie)
{
	struct refpool_watch args = {
		.events = events,
		.cookie = cookie,
		.token_ptr = RP_PTR(tok),
	};

	if (!p)
		return -EINVAL;
	/*
	 * A token pointer of 0 means "no token" to the kernel, and with
	 * handle 0 that is another watch (the collector's); as the token
	 * to read it is a bad pointer.
	 */
	if (!tok)
		return -EFAULT;
	return rp_ioctl(p, REFPOOL_IOC_WATCH, &args);
}

RP_EXPORT int rp_events_fd(struct rp_pool *p)
{
	if (!p)
		return -EINVAL;
	return p->fd;
}

static int rp_take_events(struct rp_pool *p, struct rp_event *ev, int max)
{
	struct refpool_read_events args = {
		.events_ptr = RP_PTR(ev),
		/* More than the kernel takes at once is not an error. */
		.max = max > REFPOOL_READ_EVENTS_MAX ? REFPOOL_READ_EVENTS_MAX :
		       (__u32)max,
		.event_size = sizeof(*ev),
	};
	int ret;

	ret = rp_ioctl(p, REFPOOL_IOC_READ_EVENTS, &args);
	rp_written(ret, ev, sizeof(*ev) * (size_t)(ret > 0 ? ret : 0));
	return ret;
}

static int64_t rp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

RP_EXPORT int rp_read_events(struct rp_pool *p, struct rp_event *ev, int max,
			     int timeout_ms)
{
	int64_t deadline = 0;
	struct pollfd pfd;
	int ret, left;

	if (!p)
		return -EINVAL;
	pfd.fd = p->fd;
	pfd.events = POLLIN;
	if (timeout_ms > 0)
		deadline = rp_now_ms() + timeout_ms;
	for (;;) {
		/*
		 * Take what is queued first: no poll() when events wait, and
		 * an empty queue after a wake-up (another thread read them)
		 * just waits again for the time left.
		 */
		ret = rp_take_events(p, ev, max);
		if (ret != 0 || timeout_ms == 0)
			return ret;
		left = -1;
		if (timeout_ms > 0) {
			int64_t now = rp_now_ms();

			if (now >= deadline)
				return 0;
			left = (int)(deadline - now);
		}
		ret = poll(&pfd, 1, left);
		if (ret == -1 && errno != EINTR)
			return -errno;
	}
}
