/* SPDX-License-Identifier: MIT */
/*
 * The control thread's reactor: one epoll fd, one callback per registered
 * fd (redis's ae, reduced). Owns nothing but the dispatch; the callbacks
 * own their fds. Control thread only.
 */
#include "cp.h"

#include <errno.h>
#include <sys/epoll.h>

int
cp_io_add(int epfd, struct cp_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, io->fd, &ev) == 0 ? 0 : -errno;
}

int
cp_io_mod(int epfd, struct cp_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};

	return epoll_ctl(epfd, EPOLL_CTL_MOD, io->fd, &ev) == 0 ? 0 : -errno;
}

void
cp_io_del(int epfd, struct cp_io *io)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

int
cp_io_poll(int epfd, int timeout_ms)
{
	return cp_io_pwait(epfd, timeout_ms, NULL);
}

int
cp_io_pwait(int epfd, int timeout_ms, const sigset_t *mask)
{
	struct epoll_event evs[64];
	uint64_t now_us;
	int n;

	n = epoll_pwait(epfd, evs, 64, timeout_ms, mask);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	now_us = cp_now_us();
	for (int i = 0; i < n; i++) {
		struct cp_io *io = evs[i].data.ptr;

		io->on_event(io, evs[i].events, now_us);
	}
	return n;
}

