// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/ferryd.c: the control daemon's top level: arguments, config, engine, signals; the only place that logs. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <bpf/libbpf.h>
#include "announce.h"
#include "commands.h"
#include "conf.h"
#include "daemon.h"
#include "engine.h"
#include "exporter.h"
#include "log.h"
#include "names.h"
#include "plan.h"

enum ferryd_mode { MODE_RUN, MODE_CHECK, MODE_STATS, MODE_DETACH };

struct ferryd_args {
	const char *conf_path;
	enum ferryd_mode mode;
	int verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ferryd -c FILE [--check | --stats | --detach] [-v]\n"
		"  -c, --config FILE  configuration (libconfig), required\n"
		"      --check        validate the configuration and exit\n"
		"      --stats        print the dataplane's counters and exit\n"
		"      --detach       stop forwarding: withdraw the VIP routes, remove\n"
		"                     program and pins\n"
		"  -v, --verbose      more logging (twice: libbpf too)\n"
		"  -h, --help         this text\n");
}

static int parse_args(int argc, char **argv, struct ferryd_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "stats", no_argument, NULL, 'S' },
		{ "detach", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->conf_path = optarg;
			break;
		case 'C':
			a->mode = MODE_CHECK;
			break;
		case 'S':
			a->mode = MODE_STATS;
			break;
		case 'D':
			a->mode = MODE_DETACH;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || !a->conf_path) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static const char *proto_name(__u8 proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "?";
}

static void print_stats(const struct plan *p, const struct ferry_conf *conf,
			const struct engine_stats *s)
{
	char addr[64];
	unsigned int i, j;

	printf("generation %u, %u %s\n", s->generation, s->ncpus,
	       s->cpu_label ? "forwarding lcores" : "CPUs");
	for (i = 0; i < p->nvips; i++) {
		const struct plan_vip *v = &p->vips[i];
		const struct lb_vip_stats *vs = &s->vip[v->id];

		conf_addr_str(&v->key.addr, v->key.family, addr, sizeof(addr));
		printf("vip %s %s:%u/%s packets %llu bytes %llu new_flows %llu\n",
		       v->name, addr, ntohs(v->key.port),
		       proto_name(v->key.proto), (unsigned long long)vs->packets,
		       (unsigned long long)vs->bytes,
		       (unsigned long long)vs->new_flows);
		for (j = 0; j < v->nbackends; j++) {
			const struct plan_backend *b =
				&p->backends[v->first_backend + j];
			const struct lb_counter *c = &s->backend[b->id];

			conf_addr_str(&b->be.addr, b->be.family, addr,
				      sizeof(addr));
			printf("  backend %s %s packets %llu bytes %llu\n",
			       b->node, addr, (unsigned long long)c->packets,
			       (unsigned long long)c->bytes);
		}
	}
	printf("reasons:");
	for (i = 0; i < LB_REASON_MAX; i++)
		printf(" %s=%llu", lb_reason_name(i),
		       (unsigned long long)s->global.reason[i].packets);
	printf("\nevents:");
	for (i = 0; i < LB_EVENT_MAX; i++)
		printf(" %s=%llu", lb_event_name(i),
		       (unsigned long long)s->global.event[i]);
	printf("\n%ss:", s->cpu_label ? s->cpu_label : "cpu");
	for (i = 0; i < s->ncpus && i < ENGINE_MAX_CPUS; i++)
		printf(" %u=%llu", s->cpu_label ? s->cpu_id[i] : i,
		       (unsigned long long)s->cpu_packets[i]);
	printf("\n");
	for (i = 0; i < s->nextra && i < ENGINE_MAX_EXTRA; i++)
		printf("%s: %llu\n", s->extra[i].name,
		       (unsigned long long)s->extra[i].value);
	for (i = 0; i < s->nports && i < ENGINE_MAX_PORTS; i++)
		printf("port %u %s link %s rx %llu tx %llu rx_missed %llu rx_errors %llu tx_errors %llu\n",
		       s->port[i].id, s->port[i].data ? "data" : "exception",
		       s->port[i].link_up ? "up" : "down",
		       (unsigned long long)s->port[i].rx_packets,
		       (unsigned long long)s->port[i].tx_packets,
		       (unsigned long long)s->port[i].rx_missed,
		       (unsigned long long)s->port[i].rx_errors,
		       (unsigned long long)s->port[i].tx_errors);
	(void)conf;
}

static int run_stats(const struct engine_ops *ops, const struct ferry_conf *conf)
{
	struct engine_stats *s = calloc(1, sizeof(*s));
	struct plan *p = plan_build(conf, NULL, 0);
	struct engine *e = NULL;
	int err = -ENOMEM;

	if (!s || !p)
		goto out;
	e = ops->attach_existing(conf);
	if (!e) {
		err = -errno;
		log_err("no running dataplane at %s: %s",
			conf->dp.dpdk ? conf->dp.dp.control : conf->dp.bpffs,
			strerror(errno));
		goto out;
	}
	err = ops->read_stats(e, s);
	if (err)
		log_err("reading counters: %s", strerror(-err));
	else
		print_stats(p, conf, s);
out:
	ops->close(e);
	plan_free(p);
	free(s);
	return err;
}

/* Announcements never outlive forwarding: the VIP routes go first, then
 * the program; and once more after it, in case a ferryd still running
 * put them back in between (its next check withdraws them anyway). */
static int run_detach(const struct engine_ops *ops, const struct ferry_conf *conf)
{
	int w, r;

	w = announce_withdraw_all(conf);
	if (w < 0)
		log_err("detach: withdrawing the VIP routes from table %u: %s; detaching anyway",
			conf->announce.table, strerror(-w));
	else if (w > 0)
		log_info("detach: %d VIP route%s withdrawn from table %u", w,
			 w == 1 ? "" : "s", conf->announce.table);
	r = ops->destroy(conf);
	if (r)
		log_err("detach: %s", strerror(-r));
	if (announce_withdraw_all(conf) > 0)
		log_warn("detach: a running ferryd announced again while detaching: withdrawn; stop ferryd before --detach");
	return r ? r : w < 0 ? w : 0;
}

static void on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ferryd *d = arg;
	struct signalfd_siginfo si;
	char msg[512];

	(void)l;
	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (daemon_reload(d, msg, sizeof(msg)))
				log_err("reload refused, generation %u keeps serving: %s",
					d->live->generation, msg);
			else
				log_info("reloaded: %s", msg);
		} else {
			d->stop = true;
		}
	}
}

static int run_daemon(const struct engine_ops *ops, struct ferry_conf *conf,
		      const char *path)
{
	struct ferryd d;
	sigset_t set;
	int err, sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		conf_free(conf);
		return -errno;
	}

	err = daemon_start(&d, ops, conf, path);
	if (err) {
		log_err("dataplane %s on %s: %s", ops->name, conf->dp.interface,
			strerror(-err));
		if (err == -EXDEV)
			log_err("the pinned dataplane under %s serves another interface; run ferryd --detach first",
				conf->dp.bpffs);
		if (err == -EPROTO && !conf->dp.dpdk)
			log_err("the pinned maps under %s have another layout (a Ferry from before an upgrade); run ferryd --detach first",
				conf->dp.bpffs);
		if (err == -ESTALE)
			log_err("the running dataplane was loaded with another hash_seed; run ferryd --detach first");
		if (err == -EBUSY)
			log_err("%s already has an XDP program that is not Ferry's pinned one",
				conf->dp.interface);
		if (!d.conf)
			conf_free(conf);
		goto out;
	}
	err = loop_add(d.loop, sfd, EPOLLIN, on_signal, &d);
	if (!err)
		err = ctl_start(&d);
	if (err) {
		log_err("control socket %s: %s", conf->ctl.socket, strerror(-err));
		goto out;
	}
	err = exporter_start(&d);
	if (err) {
		log_err("exporter: cannot serve /metrics on %s: %s%s",
			conf->ctl.exporter, strerror(-err),
			err == -EADDRINUSE ? " (set exporter.listen to a free address:port, or \"off\")" : "");
		goto out;
	}
	err = announce_start(&d);
	if (err) {
		log_err("announce: cannot reach rtnetlink: %s", strerror(-err));
		goto out;
	}
	log_info("ready: %s dataplane on %s (%s), generation %u, %u VIPs, %u backends",
		 ops->name, conf->dp.interface, d.adopted ? "adopted" : "loaded",
		 d.live->generation, d.live->nvips, d.live->nbackends);
	sd_notify(0, "READY=1");

	while (!d.stop) {
		err = loop_run_once(d.loop);
		if (err) {
			log_err("event loop: %s", strerror(-err));
			break;
		}
	}
	sd_notify(0, "STOPPING=1");
	log_info("stopping; the dataplane keeps forwarding generation %u",
		 d.live->generation);
out:
	announce_stop(&d); /* the routes stay: the dataplane forwards on */
	exporter_stop(&d);
	ctl_stop(&d);
	daemon_stop(&d);
	close(sfd);
	return err;
}

int main(int argc, char **argv)
{
	const struct engine_ops *ops;
	struct ferry_conf *conf;
	struct ferryd_args a;
	char err[512];
	int r = 0;

	log_init("ferryd", LOG_LVL_INFO);
	if (parse_args(argc, argv, &a))
		return 2;
	if (a.verbose)
		log_init("ferryd", LOG_LVL_DEBUG);
	if (a.verbose < 2)
		libbpf_set_print(libbpf_log);

	conf = conf_load(a.conf_path, err, sizeof(err));
	if (!conf) {
		log_err("%s", err);
		return 1;
	}
	ops = engine_ops_of(conf);
	switch (a.mode) {
	case MODE_CHECK:
		printf("%s: ok: %u nodes, %u VIPs\n", a.conf_path, conf->nnodes,
		       conf->nvips);
		break;
	case MODE_STATS:
		r = run_stats(ops, conf);
		break;
	case MODE_DETACH:
		r = run_detach(ops, conf);
		break;
	case MODE_RUN:
		/* The daemon owns conf from here on. */
		return run_daemon(ops, conf, a.conf_path) ? 1 : 0;
	}
	conf_free(conf);
	return r ? 1 : 0;
}
