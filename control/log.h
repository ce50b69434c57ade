/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* control/log.h: leveled logging to stderr, with journald level prefixes when run by systemd. */
#ifndef FERRY_CONTROL_LOG_H
#define FERRY_CONTROL_LOG_H

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

void log_init(const char *ident, enum log_level max);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* FERRY_CONTROL_LOG_H */
