// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/log.c: leveled logging to stderr; "<N>" prefixes under journald (JOURNAL_STREAM set), plain text on a terminal. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include "log.h"

static const char *log_ident = "ferry";
static enum log_level log_max = LOG_LVL_INFO;
static bool log_journal;

void log_init(const char *ident, enum log_level max)
{
	log_ident = ident;
	log_max = max;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

static const char *log_word(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERR:
		return "error";
	case LOG_LVL_WARN:
		return "warning";
	case LOG_LVL_INFO:
		return "info";
	default:
		return "debug";
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_max)
		return;
	if (log_journal)
		fprintf(stderr, "<%d>", (int)lvl);
	else
		fprintf(stderr, "%s: %s: ", log_ident, log_word(lvl));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
