/* SPDX-License-Identifier: MIT */
/*
 * cp_metrics_tel.c's calls in a build without DPDK: there is no telemetry
 * socket, so nothing is registered and nothing is published.
 */
#include "cp_metrics.h"

int
cp_metrics_tel_register(void)
{
	return -1;
}

void
cp_metrics_tel_publish(const struct cp_metrics_input *in)
{
	(void)in;
}

void
cp_metrics_tel_clear(void)
{
}
