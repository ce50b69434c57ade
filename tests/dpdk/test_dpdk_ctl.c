/* tests/dpdk/test_dpdk_ctl.c: the ferry-dpdk process driven over its control socket (dataplane/dp_ctl.h) as ferryd drives it: INFO, LOAD (good, corrupt, refused), STATS, SNAPSHOT, CLEAR, protocol abuse, a restart from the tables file, --config. Exits 77 (skip) when the EAL cannot start. Plain C: the process is run on net_null vdevs.
 *
 *   test_dpdk_ctl FERRY_DPDK
 *
 * Run 1 (command line): net_null0 is a data port with traffic (zero-filled
 * frames: not ours, so they go to the exception port, net_null1), so every
 * table swap happens under load. Run 2 (--config, no "--") restarts on the
 * same tables file after a kill -9, with no traffic and idle_sleep_us set.
 */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/dp_ctl.h"
#include "world_snap.h"

#define EXIT_SKIP 77
#define START_TIMEOUT_S 60
#define CALL_MS 10000

static const char *ferry;
static char dir[64] = "", sock[128], tables[128], logf[128], conff[128];
static pid_t child = -1;
static int checks;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dump_log(void)
{
	char buf[4096];
	size_t n;
	FILE *f = logf[0] ? fopen(logf, "r") : NULL;

	if (!f)
		return;
	fprintf(stderr, "--- ferry-dpdk's output:\n");
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---\n");
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* What a process killed with -9 leaves: its EAL runtime directory. */
static void rm_runtime_dir(pid_t pid)
{
	char path[256];
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	snprintf(path, sizeof(path), "/var/run/dpdk/ferry-dpdk-%d", (int)pid);
	rm_tree(path);
	snprintf(path, sizeof(path), "%s/dpdk/ferry-dpdk-%d",
		 xdg ? xdg : "/tmp", (int)pid);
	rm_tree(path);
}

static void kill_child(void)
{
	if (child <= 0)
		return;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	rm_runtime_dir(child);
	child = -1;
}

static void cleanup(void)
{
	kill_child();
	if (dir[0])
		rm_tree(dir);
}

static void on_fatal_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL test_dpdk_ctl.c:%d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	dump_log();
	exit(1); /* cleanup() runs */
}

#define CHECK(cond, ...)                                \
	do {                                            \
		checks++;                               \
		if (!(cond))                            \
			fail(__LINE__, "" __VA_ARGS__); \
	} while (0)

/* ---- the process ----------------------------------------------------------- */
static void spawn(char *const argv[])
{
	int fd;

	child = fork();
	if (child < 0)
		fail(__LINE__, "fork: %s", strerror(errno));
	if (child)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* the test died: so does it */
	fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static bool log_has(const char *what)
{
	char buf[1 << 16];
	size_t n = 0;
	FILE *f = fopen(logf, "r");

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, what) != NULL;
}

static bool alive(void)
{
	return child > 0 && waitpid(child, NULL, WNOHANG) == 0;
}

/* Until INFO answers; skips the test if the EAL cannot start. */
static void wait_ready(struct dp_ctl_info *info)
{
	long long end = now_ms() + START_TIMEOUT_S * 1000;
	struct dp_ctl_msg m;
	int status, r;
	size_t len;
	void *p;

	for (;;) {
		r = dp_ctl_call(sock, DP_CTL_INFO, NULL, 0, 1000, &m, &p, &len);
		if (!r && !m.status && len == sizeof(*info)) {
			memcpy(info, p, sizeof(*info));
			free(p);
			return;
		}
		free(p);
		if (waitpid(child, &status, WNOHANG) == child) {
			child = -1;
			if (log_has("rte_eal_init")) {
				dump_log();
				printf("SKIP: ferry-dpdk: the EAL cannot start here\n");
				exit(EXIT_SKIP);
			}
			fail(__LINE__,
			     "ferry-dpdk exited (status %#x) before answering",
			     status);
		}
		if (now_ms() > end)
			fail(__LINE__, "no INFO answer in %d s (last: %s)",
			     START_TIMEOUT_S, strerror(-r));
		usleep(100000);
	}
}

/* ---- requests -------------------------------------------------------------- */
struct reply {
	struct dp_ctl_msg m;
	void *p;
	size_t len;
};

static void call(__u32 op, const void *payload, size_t len, struct reply *rp)
{
	int r = dp_ctl_call(sock, op, payload, len, CALL_MS, &rp->m, &rp->p,
			    &rp->len);

	if (r)
		fail(__LINE__, "op %u: no reply: %s", op, strerror(-r));
}

static void info(struct dp_ctl_info *out, __u32 want_gen)
{
	struct reply rp;

	call(DP_CTL_INFO, NULL, 0, &rp);
	CHECK(!rp.m.status && rp.len == sizeof(*out),
	      "INFO: status %d, %zu bytes", rp.m.status, rp.len);
	CHECK(rp.m.generation == want_gen, "INFO: generation %u, want %u",
	      rp.m.generation, want_gen);
	memcpy(out, rp.p, sizeof(*out));
	free(rp.p);
}

static struct dp_ctl_stats *stats(__u32 want_gen)
{
	struct reply rp;

	call(DP_CTL_STATS, NULL, 0, &rp);
	CHECK(!rp.m.status && rp.len == sizeof(struct dp_ctl_stats),
	      "STATS: status %d, %zu bytes", rp.m.status, rp.len);
	CHECK(rp.m.generation == want_gen, "STATS: generation %u, want %u",
	      rp.m.generation, want_gen);
	return rp.p;
}

static void load_ok(const void *snap, size_t len, __u32 gen)
{
	struct reply rp;

	call(DP_CTL_LOAD, snap, len, &rp);
	CHECK(!rp.m.status, "LOAD: status %d: %.*s", rp.m.status, (int)rp.len,
	      rp.p ? (char *)rp.p : "");
	CHECK(rp.m.generation == gen, "LOAD: generation %u, want %u",
	      rp.m.generation, gen);
	free(rp.p);
}

/* A refused LOAD: -EINVAL, a message, the generation unchanged. */
static void load_refused(const void *snap, size_t len, __u32 gen,
			 const char *what)
{
	struct reply rp;

	call(DP_CTL_LOAD, snap, len, &rp);
	CHECK(rp.m.status == -EINVAL, "LOAD %s: status %d, want -EINVAL", what,
	      rp.m.status);
	CHECK(rp.len > 0 && rp.p, "LOAD %s: no message", what);
	CHECK(rp.m.generation == gen, "LOAD %s: generation %u, want %u", what,
	      rp.m.generation, gen);
	printf("ok   LOAD %s refused: %.*s\n", what, (int)rp.len, (char *)rp.p);
	free(rp.p);
}

static bool file_is(const char *path, const void *want, size_t len)
{
	char *buf = malloc(len + 1);
	FILE *f = fopen(path, "rb");
	size_t n = 0;
	bool same;

	if (f && buf)
		n = fread(buf, 1, len + 1, f);
	same = f && buf && n == len && !memcmp(buf, want, len);
	if (f)
		fclose(f);
	free(buf);
	return same;
}

static void snapshot_is(const void *want, size_t len, __u32 gen)
{
	struct reply rp;

	call(DP_CTL_SNAPSHOT, NULL, 0, &rp);
	CHECK(!rp.m.status && rp.m.generation == gen,
	      "SNAPSHOT: status %d, generation %u, want %u", rp.m.status,
	      rp.m.generation, gen);
	CHECK(rp.len == len && (!len || !memcmp(rp.p, want, len)),
	      "SNAPSHOT: %zu bytes, not the %zu loaded", rp.len, len);
	free(rp.p);
}

/* ---- protocol abuse ---------------------------------------------------------- */
static int connect_raw(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		fail(__LINE__, "connect %s: %s", sock, strerror(errno));
	return fd;
}

/* Sends bytes, half-closes, waits for the end: an error reply or a
 * closed connection is right, a success is not. */
static void abuse(const char *what, const void *bytes, size_t len)
{
	struct dp_ctl_msg m = { 0 };
	struct pollfd p;
	size_t got = 0;
	ssize_t n;
	int fd = connect_raw();

	if (len && send(fd, bytes, len, MSG_NOSIGNAL) != (ssize_t)len)
		fail(__LINE__, "%s: send: %s", what, strerror(errno));
	shutdown(fd, SHUT_WR);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (got < sizeof(m) && poll(&p, 1, CALL_MS) == 1) {
		n = recv(fd, (char *)&m + got, sizeof(m) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got == sizeof(m)) {
		CHECK(m.magic == DP_CTL_MAGIC && m.status < 0,
		      "%s: a reply with status %d", what, m.status);
		printf("ok   %s: error reply %d\n", what, m.status);
	} else {
		CHECK(got == 0, "%s: %zu bytes of a reply", what, got);
		printf("ok   %s: connection closed\n", what);
	}
	CHECK(alive(), "%s: ferry-dpdk died", what);
}

static struct dp_ctl_msg hdr(__u32 op, __u64 len)
{
	return (struct dp_ctl_msg){ .magic = DP_CTL_MAGIC,
				    .version = DP_CTL_VERSION,
				    .op = op,
				    .len = len };
}

static void abuse_all(__u32 gen)
{
	struct dp_ctl_info in;
	struct dp_ctl_msg m;
	char buf[64];

	m = hdr(DP_CTL_INFO, 0);
	m.magic = 0x12345678;
	abuse("bad magic", &m, sizeof(m));
	m = hdr(DP_CTL_INFO, 0);
	m.version = 99;
	abuse("bad version", &m, sizeof(m));
	m = hdr(0, 0);
	abuse("op 0", &m, sizeof(m));
	m = hdr(99, 0);
	abuse("op 99", &m, sizeof(m));
	m = hdr(DP_CTL_LOAD, (__u64)DP_CTL_MAX_PAYLOAD + 1);
	abuse("length over the limit", &m, sizeof(m));
	m = hdr(DP_CTL_LOAD, 1000);
	abuse("a header, then close", &m, sizeof(m));
	memcpy(buf, &m, sizeof(m));
	memset(buf + sizeof(m), 0xab, 10);
	abuse("a header and 10 of 1000 bytes, then close", buf, sizeof(m) + 10);
	abuse("half a header, then close", &m, sizeof(m) / 2);
	abuse("garbage", "GET / HTTP/1.0\r\n\r\n", 18);
	abuse("connect, close", NULL, 0);
	m = hdr(DP_CTL_INFO, 16);
	memcpy(buf, &m, sizeof(m));
	memset(buf + sizeof(m), 0, 16);
	abuse("INFO with a payload", buf, sizeof(m) + 16);
	info(&in, gen);
}

/* A client that stalls (silent, or mid-payload) must not keep another
 * one from its answer past the server's timeout, nor stop forwarding. */
static void slow_client(const char *what, const void *bytes, size_t len,
			__u32 gen)
{
	struct dp_ctl_stats *a, *b;
	struct dp_ctl_info in;
	struct dp_ctl_msg m;
	long long t0;
	size_t rlen;
	void *p;
	int fd, r;

	a = stats(gen);
	fd = connect_raw();
	if (len && send(fd, bytes, len, MSG_NOSIGNAL) != (ssize_t)len)
		fail(__LINE__, "%s: send: %s", what, strerror(errno));
	usleep(200000); /* the server is reading it now */
	t0 = now_ms();
	r = dp_ctl_call(sock, DP_CTL_INFO, NULL, 0, 3 * DP_CTL_TIMEOUT_MS, &m,
			&p, &rlen);
	CHECK(!r && !m.status && rlen == sizeof(in) && m.generation == gen,
	      "%s: INFO behind it: %s, status %d", what, strerror(-r),
	      m.status);
	free(p);
	printf("ok   %s: the next client answered after %lld ms\n", what,
	       now_ms() - t0);
	close(fd);
	b = stats(gen);
	CHECK(b->lcore_packets[0] > a->lcore_packets[0],
	      "%s: forwarding stopped (%llu packets, then %llu)", what,
	      (unsigned long long)a->lcore_packets[0],
	      (unsigned long long)b->lcore_packets[0]);
	free(a);
	free(b);
	CHECK(alive(), "%s: ferry-dpdk died", what);
}

/* ---- snapshots ------------------------------------------------------------- */
static void make_snap(__u32 gen, __u32 seed_xor, void **buf, size_t *len)
{
	struct ferry_snap_input in;
	struct lb_config cfg;

	if (world_snap_input(fixtures_world(), &cfg, &in))
		fail(__LINE__, "world snapshot input");
	cfg.generation = gen;
	cfg.hash_seed ^= seed_xor;
	if (ferry_snap_write(&in, buf, len))
		fail(__LINE__, "ferry_snap_write");
	world_snap_input_free(&in);
}

/* ---- the runs ---------------------------------------------------------------- */
static void run1(void *s7, size_t l7, void *s8, size_t l8,
		 struct dp_ctl_info *first)
{
	/* clang-format off */
	char *argv[] = { (char *)ferry, "-l", "0-1", "--no-pci", "--no-huge",
			 "-m", "256", "--log-level=lib.*:warning",
			 "--vdev", "net_null0", "--vdev", "net_null1,no-rx=1",
			 "--", "--control", sock, "--tables", tables,
			 "--exception-port", "1", "--idle-sleep-us", "100",
			 NULL };
	/* clang-format on */
	struct dp_ctl_stats *st;
	struct stat sb;
	void *bad, *seed;
	size_t lbad, lseed;

	spawn(argv);
	wait_ready(first);
	CHECK(first->pid == (__u32)child && first->boot_id, "INFO: pid %u",
	      first->pid);
	CHECK(first->nlcores == 1 && first->nports == 2,
	      "INFO: %u lcores, %u ports", first->nlcores, first->nports);
	CHECK(first->port[0].data && first->port[0].port == 0 &&
		      !first->port[1].data && first->port[1].port == 1,
	      "INFO: ports");
	CHECK(first->flows == FERRY_FLOWS_DEFAULT && first->align == 0,
	      "INFO: flows %u align %u", first->flows, first->align);
	CHECK(!stat(sock, &sb) && (sb.st_mode & 0777) == 0600, "socket mode %o",
	      sb.st_mode & 0777);
	CHECK(access(tables, F_OK), "a tables file before any LOAD");
	printf("ok   INFO: pid %u, %u lcore, %u ports, generation 0\n",
	       first->pid, first->nlcores, first->nports);

	st = stats(0);
	CHECK(st->nlcores == 1 && st->lcore_id[0] == 1 &&
		      st->flows_capacity == FERRY_FLOWS_DEFAULT,
	      "STATS: %u lcores, lcore %u, capacity %llu", st->nlcores,
	      st->lcore_id[0], (unsigned long long)st->flows_capacity);
	free(st);
	snapshot_is(NULL, 0, 0);

	load_ok(s7, l7, 7);
	st = stats(7);
	CHECK(st->nlcores == 1 && st->generation == 7, "STATS after LOAD");
	usleep(100000);
	free(st);
	st = stats(7);
	CHECK(st->lcore_packets[0] > 0 &&
		      st->global.reason[LB_R_PASS_NON_IP].packets > 0,
	      "STATS: no traffic counted");
	printf("ok   LOAD generation 7; STATS: %llu packets on lcore %u\n",
	       (unsigned long long)st->lcore_packets[0], st->lcore_id[0]);
	free(st);
	snapshot_is(s7, l7, 7);
	CHECK(file_is(tables, s7, l7), "the tables file is not generation 7");

	bad = malloc(l7);
	memcpy(bad, s7, l7);
	((char *)bad)[l7 - 3] ^= 0x40; /* checksum no longer matches */
	lbad = l7;
	load_refused(bad, lbad, 7, "corrupt");
	load_refused(bad, 17, 7, "truncated");
	load_refused(NULL, 0, 7, "empty");
	make_snap(9, 0x5a5a, &seed, &lseed);
	load_refused(seed, lseed, 7, "another hash seed");
	free(bad);
	free(seed);
	snapshot_is(s7, l7, 7);
	CHECK(file_is(tables, s7, l7),
	      "a refused LOAD changed the tables file");

	load_ok(s8, l8, 8);
	snapshot_is(s8, l8, 8);
	CHECK(file_is(tables, s8, l8), "the tables file is not generation 8");
	printf("ok   LOAD generation 8; the tables file equals the live snapshot\n");

	abuse_all(8);
	slow_client("a silent client", NULL, 0, 8);
	{
		char buf[sizeof(struct dp_ctl_msg) + 8];
		struct dp_ctl_msg m = hdr(DP_CTL_LOAD, 4096);

		memcpy(buf, &m, sizeof(m));
		memset(buf + sizeof(m), 0, 8);
		slow_client("a client stalled mid-payload", buf, sizeof(buf),
			    8);
	}
	CHECK(file_is(tables, s8, l8), "the tables file changed");
}

static void write_config(void)
{
	FILE *f = fopen(conff, "w");

	if (!f)
		fail(__LINE__, "%s: %s", conff, strerror(errno));
	fprintf(f,
		"dataplane = {\n"
		"  engine = \"dpdk\"; interface = \"dpdk0\";\n"
		"  next_hop_mac = \"02:00:00:00:00:01\"; flows = 5000;\n"
		"  dpdk = {\n"
		"    control = \"%s\"; tables = \"%s\";\n"
		"    exception_port = 1; idle_sleep_us = 1000; burst = 16;\n"
		"    eal = [ \"-l\", \"0-1\", \"--no-pci\", \"--no-huge\", \"-m\", \"256\",\n"
		"            \"--log-level=lib.*:warning\",\n"
		"            \"--vdev\", \"net_null0,no-rx=1\", \"--vdev\", \"net_null1,no-rx=1\" ];\n"
		"  };\n"
		"};\n"
		"nodes = ();\n"
		"vips = ();\n",
		sock, tables);
	fclose(f);
}

static unsigned long long cpu_ticks(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		fail(__LINE__, "%s", path);
	fclose(f);
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (!p ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		fail(__LINE__, "%s: unreadable", path);
	return ut + st;
}

static void run2(void *s7, size_t l7, void *s8, size_t l8,
		 const struct dp_ctl_info *first)
{
	char *argv[] = { (char *)ferry, "--config", conff,
			 "--align",	"trust",    NULL };
	struct dp_ctl_info in;
	struct dp_ctl_stats *st;
	unsigned long long t0, t1;
	long hz = sysconf(_SC_CLK_TCK);
	struct reply rp;
	int status;

	write_config();
	spawn(argv);
	wait_ready(&in);
	CHECK(in.boot_id != first->boot_id && in.pid == (__u32)child,
	      "a restart with the same boot id");
	CHECK(in.flows == 8192 && in.align == 1 && in.nports == 2,
	      "INFO after --config: flows %u (want 8192), align %u, %u ports",
	      in.flows, in.align, in.nports);
	info(&in, 8); /* from the file, no LOAD */
	snapshot_is(s8, l8, 8);
	st = stats(8);
	free(st);
	printf("ok   restarted (--config): generation 8 from the tables file, a new boot id\n");
	abuse_all(8); /* again, in the run that ends cleanly (leak checks) */

	t0 = cpu_ticks(child);
	usleep(1000000);
	t1 = cpu_ticks(child);
	CHECK(t1 - t0 < (unsigned long long)hz / 2,
	      "idle, ferry-dpdk used %llu of %ld ticks (idle_sleep_us)",
	      t1 - t0, hz);
	printf("ok   idle with idle_sleep_us: %llu of %ld CPU ticks in 1 s\n",
	       t1 - t0, hz);

	call(DP_CTL_CLEAR, NULL, 0, &rp);
	CHECK(!rp.m.status && rp.m.generation == 0, "CLEAR: status %d gen %u",
	      rp.m.status, rp.m.generation);
	free(rp.p);
	CHECK(access(tables, F_OK) && errno == ENOENT,
	      "the tables file outlived CLEAR");
	snapshot_is(NULL, 0, 0);
	st = stats(0);
	free(st);
	printf("ok   CLEAR: generation 0, no tables file\n");

	load_ok(s7, l7, 7);
	CHECK(file_is(tables, s7, l7), "LOAD after CLEAR: tables file");
	printf("ok   LOAD after CLEAR: generation 7\n");

	kill(child, SIGTERM);
	CHECK(waitpid(child, &status, 0) == child, "waitpid");
	child = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "ferry-dpdk ended with status %#x on SIGTERM", status);
	CHECK(access(sock, F_OK), "the control socket outlived ferry-dpdk");
	printf("ok   SIGTERM: clean exit, socket removed\n");
}

int main(int argc, char **argv)
{
	struct dp_ctl_info first;
	void *s7, *s8;
	size_t l7, l8;

	if (argc != 2) {
		fprintf(stderr, "usage: test_dpdk_ctl FERRY_DPDK\n");
		return 2;
	}
	ferry = argv[1];
	snprintf(dir, sizeof(dir), "/tmp/ferry-dpdk-ctl.XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		fail(__LINE__, "mkdtemp: %s", strerror(errno));
	}
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(tables, sizeof(tables), "%s/state/tables.snap", dir);
	snprintf(conff, sizeof(conff), "%s/state", dir);
	mkdir(conff, 0755); /* the tables file's directory */
	snprintf(conff, sizeof(conff), "%s/ferry.conf", dir);
	snprintf(logf, sizeof(logf), "%s/ferry-dpdk.log", dir);
	atexit(cleanup);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGPIPE, SIG_IGN);
	make_snap(7, 0, &s7, &l7);
	make_snap(8, 0, &s8, &l8);

	run1(s7, l7, s8, l8, &first);
	kill_child(); /* kill -9: no clean exit, the file stays */
	CHECK(file_is(tables, s8, l8), "the tables file after kill -9");
	printf("ok   kill -9: the tables file holds generation 8\n");
	run2(s7, l7, s8, l8, &first);

	free(s7);
	free(s8);
	dump_log();
	printf("ok   %d checks\n", checks);
	return 0;
}
