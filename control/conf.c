// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* control/conf.c: reads ferry.conf with libconfig into struct ferry_conf and validates every setting, reporting file:line. */
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "maglev.h"

struct conf_ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int conf_fail(struct conf_ctx *c, const config_setting_t *s,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int conf_fail(struct conf_ctx *c, const config_setting_t *s,
		     const char *fmt, ...)
{
	va_list ap;
	int n = 0, line = s ? config_setting_source_line(s) : 0;

	if (line > 0)
		n = snprintf(c->err, c->errlen, "%s:%d: ", c->file, line);
	else
		n = snprintf(c->err, c->errlen, "%s: ", c->file);
	if (n < 0 || (size_t)n >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool conf_in_list(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

/* Typos are errors: every member of group must be a known setting. */
static int conf_check_keys(struct conf_ctx *c, const config_setting_t *group,
			   const char *where, const char *const *allowed)
{
	int i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(group, i);
		const char *name = config_setting_name(m);

		if (name && !conf_in_list(name, allowed))
			return conf_fail(c, m, "unknown setting '%s' in %s",
					 name, where);
	}
	return 0;
}

static int conf_string(struct conf_ctx *c, const config_setting_t *group,
		       const char *key, bool required, char *out, size_t len)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	const char *v;

	if (!s) {
		if (required)
			return conf_fail(c, group, "missing setting '%s'", key);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return conf_fail(c, s, "'%s' must be a string", key);
	v = config_setting_get_string(s);
	if (!*v)
		return conf_fail(c, s, "'%s' must not be empty", key);
	if (strlen(v) >= len)
		return conf_fail(c, s, "'%s' is longer than %zu characters",
				 key, len - 1);
	strcpy(out, v);
	return 1;
}

static int conf_uint(struct conf_ctx *c, const config_setting_t *group,
		     const char *key, bool required, long long min,
		     long long max, __u32 *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	long long v;

	if (!s) {
		if (required)
			return conf_fail(c, group, "missing setting '%s'", key);
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return conf_fail(c, s, "'%s' must be an integer", key);
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return conf_fail(c, s, "'%s' = %lld is out of range [%lld, %lld]",
				 key, v, min, max);
	*out = (__u32)v;
	return 1;
}

int conf_parse_addr(const char *text, union lb_addr *a, __u8 *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, &a->v4) == 1) {
		*family = LB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a->bytes) == 1) {
		*family = LB_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int conf_addr(struct conf_ctx *c, const config_setting_t *group,
		     const char *key, bool required, union lb_addr *a,
		     __u8 *family)
{
	char text[INET6_ADDRSTRLEN + 1];
	int r = conf_string(c, group, key, required, text, sizeof(text));

	if (r <= 0)
		return r == 0 ? 0 : r;
	if (conf_parse_addr(text, a, family))
		return conf_fail(c, config_setting_get_member(group, key),
				 "'%s' = \"%s\" is not an IPv4 or IPv6 address",
				 key, text);
	return 1;
}

static int conf_parse_mac(const char *text, __u8 mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (strlen(text) != 17 ||
	    sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2],
		   &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (__u8)b[i];
	return 0;
}

#define DPDK_PORT_MAX 1023 /* RTE_MAX_ETHPORTS is smaller */

static const char *const dataplane_keys[] = {
	"engine", "interface", "xdp_mode", "bpffs", "next_hop_mac",
	"encap_source_v4", "encap_source_v6", "mtu", "flows", "hash_seed",
	"dpdk", NULL
};

static int conf_line_of(const config_setting_t *g, const char *key)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	return s ? config_setting_source_line(s) : 0;
}

static const char *const dpdk_keys[] = {
	"control", "tables", "eal", "exception_port", "align", "idle_sleep_us",
	"burst", NULL
};

static int conf_read_dpdk(struct conf_ctx *c, const config_setting_t *dg,
			  struct conf_dpdk *d)
{
	const config_setting_t *g = config_setting_get_member(dg, "dpdk");
	const config_setting_t *l;
	char text[16];
	__u32 port;
	int r, i, n;

	strcpy(d->control, CONF_DPDK_CONTROL_DEFAULT);
	strcpy(d->tables, CONF_DPDK_TABLES_DEFAULT);
	d->exception_port = -1;
	d->burst = 32;
	if (!g)
		return conf_fail(c, dg, "engine \"dpdk\" needs a group 'dpdk' { eal = [ ... ]; ... }");
	if (!config_setting_is_group(g))
		return conf_fail(c, g, "'dpdk' must be a group { ... }");
	r = conf_check_keys(c, g, "dpdk", dpdk_keys);
	if (r)
		return r;
	d->line = config_setting_source_line(g);
	d->line_control = conf_line_of(g, "control");
	r = conf_string(c, g, "control", false, d->control, sizeof(d->control));
	if (r < 0)
		return r;
	r = conf_string(c, g, "tables", false, d->tables, sizeof(d->tables));
	if (r < 0)
		return r;
	if (d->control[0] != '/' || d->tables[0] != '/')
		return conf_fail(c, g, "dpdk.control and dpdk.tables must be absolute paths");
	l = config_setting_get_member(g, "eal");
	if (!l)
		return conf_fail(c, g, "missing setting 'eal' (EAL arguments, e.g. [ \"-l\", \"0-1\", \"--vdev\", \"net_af_packet0,iface=eth0\" ])");
	if (!config_setting_is_array(l) && !config_setting_is_list(l))
		return conf_fail(c, l, "'eal' must be an array of strings [ ... ]");
	n = config_setting_length(l);
	if (n > CONF_DPDK_MAX_EAL)
		return conf_fail(c, l, "%d EAL arguments, at most %d", n,
				 CONF_DPDK_MAX_EAL);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		const char *v;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_fail(c, e, "EAL argument %d is not a string", i + 1);
		v = config_setting_get_string(e);
		if (!*v || strlen(v) >= CONF_DPDK_ARG_MAX)
			return conf_fail(c, e, "EAL argument %d is empty or longer than %d characters",
					 i + 1, CONF_DPDK_ARG_MAX - 1);
		strcpy(d->eal[d->neal++], v);
	}
	r = conf_uint(c, g, "exception_port", false, 0, DPDK_PORT_MAX, &port);
	if (r < 0)
		return r;
	if (r > 0)
		d->exception_port = (int)port;
	strcpy(text, "slide");
	r = conf_string(c, g, "align", false, text, sizeof(text));
	if (r < 0)
		return r;
	if (strcmp(text, "slide") && strcmp(text, "trust"))
		return conf_fail(c, config_setting_get_member(g, "align"),
				 "align must be \"slide\" or \"trust\"");
	d->align_trust = !strcmp(text, "trust");
	r = conf_uint(c, g, "idle_sleep_us", false, 0, 100000,
		      &d->idle_sleep_us);
	if (r < 0)
		return r;
	r = conf_uint(c, g, "burst", false, 1, 256, &d->burst);
	return r < 0 ? r : 0;
}

static int conf_read_dataplane(struct conf_ctx *c, const config_setting_t *root,
			       struct conf_dataplane *dp)
{
	const config_setting_t *g = config_setting_get_member(root, "dataplane");
	char text[64];
	union lb_addr a;
	__u8 fam;
	int r;

	if (!g)
		return conf_fail(c, NULL, "missing group 'dataplane'");
	if (!config_setting_is_group(g))
		return conf_fail(c, g, "'dataplane' must be a group { ... }");
	r = conf_check_keys(c, g, "dataplane", dataplane_keys);
	if (r)
		return r;
	dp->line = config_setting_source_line(g);
	dp->line_interface = conf_line_of(g, "interface");
	dp->line_xdp_mode = conf_line_of(g, "xdp_mode");
	dp->line_bpffs = conf_line_of(g, "bpffs");
	dp->line_flows = conf_line_of(g, "flows");
	dp->line_hash_seed = conf_line_of(g, "hash_seed");

	strcpy(dp->engine, "xdp");
	r = conf_string(c, g, "engine", false, dp->engine, sizeof(dp->engine));
	if (r < 0)
		return r;
	if (strcmp(dp->engine, "xdp") && strcmp(dp->engine, "dpdk"))
		return conf_fail(c, config_setting_get_member(g, "engine"),
				 "engine \"%s\" is not supported (\"xdp\" or \"dpdk\")",
				 dp->engine);
	dp->dpdk = !strcmp(dp->engine, "dpdk");
	if (dp->dpdk) {
		r = conf_read_dpdk(c, g, &dp->dp);
		if (r)
			return r;
	} else if (config_setting_get_member(g, "dpdk")) {
		return conf_fail(c, config_setting_get_member(g, "dpdk"),
				 "a 'dpdk' group needs engine = \"dpdk\"");
	}
	r = conf_string(c, g, "interface", true, dp->interface,
			sizeof(dp->interface));
	if (r < 0)
		return r;
	strcpy(text, "native");
	r = conf_string(c, g, "xdp_mode", false, text, sizeof(text));
	if (r < 0)
		return r;
	if (strcmp(text, "native") && strcmp(text, "generic"))
		return conf_fail(c, config_setting_get_member(g, "xdp_mode"),
				 "xdp_mode must be \"native\" or \"generic\"");
	dp->xdp_generic = !strcmp(text, "generic");
	strcpy(dp->bpffs, FERRY_BPFFS_DIR);
	r = conf_string(c, g, "bpffs", false, dp->bpffs, sizeof(dp->bpffs));
	if (r < 0)
		return r;
	if (dp->bpffs[0] != '/')
		return conf_fail(c, config_setting_get_member(g, "bpffs"),
				 "bpffs must be an absolute path");
	r = conf_string(c, g, "next_hop_mac", true, text, sizeof(text));
	if (r < 0)
		return r;
	if (conf_parse_mac(text, dp->next_hop_mac))
		return conf_fail(c, config_setting_get_member(g, "next_hop_mac"),
				 "next_hop_mac \"%s\" is not a MAC address (aa:bb:cc:dd:ee:ff)",
				 text);
	r = conf_addr(c, g, "encap_source_v4", false, &a, &fam);
	if (r < 0)
		return r;
	if (r > 0) {
		if (fam != LB_AF_INET)
			return conf_fail(c, config_setting_get_member(g, "encap_source_v4"),
					 "encap_source_v4 must be an IPv4 address");
		dp->has_src_v4 = true;
		dp->encap_src_v4 = a.v4;
	}
	r = conf_addr(c, g, "encap_source_v6", false, &a, &fam);
	if (r < 0)
		return r;
	if (r > 0) {
		if (fam != LB_AF_INET6)
			return conf_fail(c, config_setting_get_member(g, "encap_source_v6"),
					 "encap_source_v6 must be an IPv6 address");
		dp->has_src_v6 = true;
		dp->encap_src_v6 = a;
	}
	dp->mtu = FERRY_DEFAULT_MTU;
	r = conf_uint(c, g, "mtu", false, CONF_MTU_MIN, CONF_MTU_MAX, &dp->mtu);
	if (r < 0)
		return r;
	dp->flows = FERRY_FLOWS_DEFAULT;
	r = conf_uint(c, g, "flows", false, CONF_FLOWS_MIN, CONF_FLOWS_MAX,
		      &dp->flows);
	if (r < 0)
		return r;
	r = conf_uint(c, g, "hash_seed", false, 0, 0xffffffffLL, &dp->hash_seed);
	return r < 0 ? r : 0;
}

static const char *const node_keys[] = { "name", "address", NULL };

static int conf_read_nodes(struct conf_ctx *c, const config_setting_t *root,
			   struct ferry_conf *conf)
{
	const config_setting_t *l = config_setting_get_member(root, "nodes");
	unsigned int i, j, n;
	int r;

	if (!l)
		return conf_fail(c, NULL, "missing list 'nodes'");
	if (!config_setting_is_list(l) && !config_setting_is_array(l))
		return conf_fail(c, l, "'nodes' must be a list ( { ... }, ... )");
	n = (unsigned int)config_setting_length(l);
	if (n > CONF_MAX_NODES)
		return conf_fail(c, l, "%u nodes, at most %u", n, CONF_MAX_NODES);
	conf->nodes = calloc(n ? n : 1, sizeof(*conf->nodes));
	if (!conf->nodes)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		struct conf_node *node = &conf->nodes[i];

		if (!config_setting_is_group(g))
			return conf_fail(c, g, "each node must be a group { name = ...; address = ...; }");
		r = conf_check_keys(c, g, "node", node_keys);
		if (r)
			return r;
		node->line = config_setting_source_line(g);
		r = conf_string(c, g, "name", true, node->name, sizeof(node->name));
		if (r < 0)
			return r;
		r = conf_addr(c, g, "address", true, &node->addr, &node->family);
		if (r < 0)
			return r;
		for (j = 0; j < i; j++) {
			if (!strcmp(conf->nodes[j].name, node->name))
				return conf_fail(c, g, "node name \"%s\" already used at line %d",
						 node->name, conf->nodes[j].line);
			if (conf->nodes[j].family == node->family &&
			    !memcmp(&conf->nodes[j].addr, &node->addr,
				    sizeof(node->addr)))
				return conf_fail(c, g, "node \"%s\" has the address of node \"%s\" (line %d)",
						 node->name, conf->nodes[j].name,
						 conf->nodes[j].line);
		}
		conf->nnodes++;
	}
	return 0;
}

int conf_find_node(const struct ferry_conf *conf, const char *name)
{
	unsigned int i;

	for (i = 0; i < conf->nnodes; i++)
		if (!strcmp(conf->nodes[i].name, name))
			return (int)i;
	return -ENOENT;
}

static const char *const backend_keys[] = { "node", "weight", NULL };

static int conf_read_backends(struct conf_ctx *c, const config_setting_t *vg,
			      struct ferry_conf *conf, struct conf_vip *vip)
{
	const config_setting_t *l = config_setting_get_member(vg, "backends");
	char name[CONF_NAME_MAX];
	unsigned int i, j, n;
	int r, node;

	if (!l)
		return conf_fail(c, vg, "VIP \"%s\" has no 'backends'", vip->name);
	if (!config_setting_is_list(l) && !config_setting_is_array(l))
		return conf_fail(c, l, "'backends' must be a list ( { node = ...; }, ... )");
	n = (unsigned int)config_setting_length(l);
	if (n == 0)
		return conf_fail(c, l, "VIP \"%s\" has an empty backend list",
				 vip->name);
	if (n > CONF_MAX_BACKENDS_PER_VIP)
		return conf_fail(c, l, "%u backends, at most %u", n,
				 CONF_MAX_BACKENDS_PER_VIP);
	vip->backends = calloc(n, sizeof(*vip->backends));
	if (!vip->backends)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		struct conf_backend *be = &vip->backends[i];

		if (!config_setting_is_group(g))
			return conf_fail(c, g, "each backend must be a group { node = \"...\"; }");
		r = conf_check_keys(c, g, "backend", backend_keys);
		if (r)
			return r;
		be->line = config_setting_source_line(g);
		r = conf_string(c, g, "node", true, name, sizeof(name));
		if (r < 0)
			return r;
		node = conf_find_node(conf, name);
		if (node < 0)
			return conf_fail(c, g, "unknown node \"%s\"", name);
		be->node = (unsigned int)node;
		be->weight = 1;
		r = conf_uint(c, g, "weight", false, 0, CONF_WEIGHT_MAX,
			      &be->weight);
		if (r < 0)
			return r;
		for (j = 0; j < i; j++)
			if (vip->backends[j].node == be->node)
				return conf_fail(c, g, "node \"%s\" is listed twice in VIP \"%s\"",
						 name, vip->name);
		vip->nbackends++;
	}
	return 0;
}

static const char *const health_keys[] = { "type", "port", "interval",
					   "timeout", "rise", "fall", "path",
					   "host", "expect", "radius",
					   "secret", NULL };

/* Health check of a VIP's backends; defaults: tcp to the VIP port. */
static int conf_read_health(struct conf_ctx *c, const config_setting_t *vg,
			    struct conf_vip *vip)
{
	const config_setting_t *g = config_setting_get_member(vg, "health");
	struct health_spec *h = &vip->health;
	char text[16];
	__u32 v;
	int r;

	memset(h, 0, sizeof(*h));
	h->type = HEALTH_TCP;
	h->port = vip->port;
	h->interval_ms = 2000;
	h->timeout_ms = 1000;
	h->rise = 2;
	h->fall = 3;
	h->expect = 200;
	strcpy(h->path, "/");
	if (!g) {
		/* A TCP connect to a UDP port proves nothing: say what to
		 * probe (a TCP or HTTP port of the service, or none). */
		if (vip->proto == IPPROTO_UDP)
			return conf_fail(c, vg, "UDP VIP \"%s\" needs an explicit health check: health = { type = \"tcp\" | \"http\" | \"radius\" | \"none\"; port = ...; }",
					 vip->name);
		if (!vip->port)
			return conf_fail(c, vg, "VIP \"%s\" serves every port: its health check needs a port (health = { port = ...; })",
					 vip->name);
		return 0;
	}
	if (!config_setting_is_group(g))
		return conf_fail(c, g, "'health' must be a group { type = ...; }");
	r = conf_check_keys(c, g, "health", health_keys);
	if (r)
		return r;
	strcpy(text, "tcp");
	r = conf_string(c, g, "type", false, text, sizeof(text));
	if (r < 0)
		return r;
	if (!strcmp(text, "tcp"))
		h->type = HEALTH_TCP;
	else if (!strcmp(text, "http"))
		h->type = HEALTH_HTTP;
	else if (!strcmp(text, "radius"))
		h->type = HEALTH_RADIUS;
	else if (!strcmp(text, "none"))
		h->type = HEALTH_NONE;
	else
		return conf_fail(c, config_setting_get_member(g, "type"),
				 "health type must be \"tcp\", \"http\", \"radius\" or \"none\"");
	if (h->type == HEALTH_RADIUS) {
		/* Status-Server to the node's auth (1812) or accounting
		 * (1813) port, whatever port the VIP serves. */
		strcpy(text, "auth");
		r = conf_string(c, g, "radius", false, text, sizeof(text));
		if (r < 0)
			return r;
		if (strcmp(text, "auth") && strcmp(text, "acct"))
			return conf_fail(c, config_setting_get_member(g, "radius"),
					 "radius must be \"auth\" or \"acct\"");
		h->radius_acct = !strcmp(text, "acct");
		h->port = h->radius_acct ? 1813 : 1812;
		r = conf_string(c, g, "secret", false, h->secret,
				sizeof(h->secret));
		if (r < 0)
			return r;
		if (!r)
			return conf_fail(c, g, "radius health checks need the shared secret (secret = \"...\";)");
	} else if (config_setting_get_member(g, "radius") ||
		   config_setting_get_member(g, "secret")) {
		return conf_fail(c, g, "radius and secret apply to radius health checks only");
	}
	v = h->port;
	r = conf_uint(c, g, "port", false, 1, 65535, &v);
	if (r < 0)
		return r;
	h->port = (__u16)v;
	if (!h->port && h->type != HEALTH_NONE)
		return conf_fail(c, g, "VIP \"%s\" serves every port: its health check needs a port",
				 vip->name);
	if ((r = conf_uint(c, g, "interval", false, 100, 3600000,
			   &h->interval_ms)) < 0 ||
	    (r = conf_uint(c, g, "timeout", false, 10, 3600000,
			   &h->timeout_ms)) < 0 ||
	    (r = conf_uint(c, g, "rise", false, 1, 100, &h->rise)) < 0 ||
	    (r = conf_uint(c, g, "fall", false, 1, 100, &h->fall)) < 0)
		return r;
	if (h->timeout_ms >= h->interval_ms)
		return conf_fail(c, g, "health timeout (%u ms) must be shorter than the interval (%u ms)",
				 h->timeout_ms, h->interval_ms);
	r = conf_string(c, g, "path", false, h->path, sizeof(h->path));
	if (r < 0)
		return r;
	if (h->path[0] != '/' || strpbrk(h->path, " \r\n"))
		return conf_fail(c, config_setting_get_member(g, "path"),
				 "health path must start with '/' and hold no spaces");
	r = conf_string(c, g, "host", false, h->host, sizeof(h->host));
	if (r < 0)
		return r;
	if (strpbrk(h->host, " \r\n"))
		return conf_fail(c, config_setting_get_member(g, "host"),
				 "health host must hold no spaces");
	v = h->expect;
	r = conf_uint(c, g, "expect", false, 100, 599, &v);
	if (r < 0)
		return r;
	h->expect = (__u16)v;
	if (h->type != HEALTH_HTTP &&
	    (config_setting_get_member(g, "path") ||
	     config_setting_get_member(g, "host") ||
	     config_setting_get_member(g, "expect")))
		return conf_fail(c, g, "path, host and expect apply to http health checks only");
	return 0;
}

int conf_parse_prefix(const char *text, union lb_addr *a, __u8 *family,
		      __u8 *plen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	unsigned int max, i;
	char *end;
	long n;

	if (!slash) {
		if (conf_parse_addr(text, a, family))
			return -EINVAL;
		*plen = *family == LB_AF_INET6 ? 128 : 32;
		return 0;
	}
	if ((size_t)(slash - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(slash - text));
	host[slash - text] = 0;
	if (conf_parse_addr(host, a, family))
		return -EINVAL;
	max = *family == LB_AF_INET6 ? 128 : 32;
	n = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || n < 0 || n > (long)max)
		return -EINVAL;
	*plen = (__u8)n;
	/* Host bits must be zero: "10.0.0.1/24" is a typo, not a prefix. */
	for (i = (unsigned int)n; i < max; i++)
		if (a->bytes[i / 8] & (0x80 >> (i % 8)))
			return -EDOM;
	return 0;
}

const char *conf_prefix_str(const union lb_addr *a, __u8 family, __u8 plen,
			    char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	conf_addr_str(a, family, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, plen);
	return buf;
}

/* all_down and failback, from a group (a pin, or the VIP's defaults). */
static int conf_pin_policy(struct conf_ctx *c, const config_setting_t *g,
			   const char *all_key, const char *fb_key,
			   struct conf_pin *pin)
{
	const config_setting_t *s;
	char text[16];
	int r;

	r = conf_string(c, g, all_key, false, text, sizeof(text));
	if (r < 0)
		return r;
	if (r > 0) {
		if (!strcmp(text, "rehash"))
			pin->all_down = PIN_ALL_DOWN_REHASH;
		else if (!strcmp(text, "hold"))
			pin->all_down = PIN_ALL_DOWN_HOLD;
		else
			return conf_fail(c, config_setting_get_member(g, all_key),
					 "%s must be \"rehash\" or \"hold\"",
					 all_key);
	}
	s = config_setting_get_member(g, fb_key);
	if (!s)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		r = conf_uint(c, g, fb_key, true, 1, 86400,
			      &pin->failback_after_s);
		if (r < 0)
			return r;
		pin->failback = PIN_FAILBACK_AFTER;
		return 0;
	}
	r = conf_string(c, g, fb_key, true, text, sizeof(text));
	if (r < 0)
		return r;
	if (!strcmp(text, "immediate"))
		pin->failback = PIN_FAILBACK_IMMEDIATE;
	else if (!strcmp(text, "manual"))
		pin->failback = PIN_FAILBACK_MANUAL;
	else
		return conf_fail(c, s, "%s must be \"immediate\", \"manual\" or a number of seconds (1 ... 86400)",
				 fb_key);
	return 0;
}

static const char *const pin_keys[] = { "peer", "nodes", "all_down",
					"failback", NULL };

static int conf_read_pin(struct conf_ctx *c, const config_setting_t *g,
			 const struct ferry_conf *conf,
			 const struct conf_vip *vip, struct conf_pin *pin)
{
	const config_setting_t *l;
	char text[INET6_ADDRSTRLEN + 8];
	unsigned int i, j;
	int r, node;

	if (!config_setting_is_group(g))
		return conf_fail(c, g, "each pin must be a group { peer = ...; nodes = [ ... ]; }");
	r = conf_check_keys(c, g, "pin", pin_keys);
	if (r)
		return r;
	pin->line = config_setting_source_line(g);
	r = conf_string(c, g, "peer", true, text, sizeof(text));
	if (r < 0)
		return r;
	r = conf_parse_prefix(text, &pin->addr, &pin->family, &pin->plen);
	if (r)
		return conf_fail(c, config_setting_get_member(g, "peer"),
				 r == -EDOM ? "peer \"%s\" has host bits set beyond its prefix length" :
					      "peer \"%s\" is not an address or prefix (a.b.c.d[/n], x:y::z[/n])",
				 text);
	if (pin->family != vip->family)
		return conf_fail(c, g, "peer \"%s\" is not of the VIP's address family", text);
	l = config_setting_get_member(g, "nodes");
	if (!l)
		return conf_fail(c, g, "pin has no 'nodes'");
	if (!config_setting_is_array(l) && !config_setting_is_list(l))
		return conf_fail(c, l, "'nodes' must be a list of node names [ \"a\", \"b\" ]");
	pin->nnodes = (unsigned int)config_setting_length(l);
	if (pin->nnodes == 0 || pin->nnodes > CONF_PIN_NODES_MAX)
		return conf_fail(c, l, "a pin lists 1 to %d nodes", CONF_PIN_NODES_MAX);
	for (i = 0; i < pin->nnodes; i++) {
		const config_setting_t *e = config_setting_get_elem(l, i);
		const char *name = config_setting_get_string(e);

		if (!name)
			return conf_fail(c, l, "'nodes' must hold node names (strings)");
		node = conf_find_node(conf, name);
		if (node < 0)
			return conf_fail(c, l, "unknown node \"%s\"", name);
		for (j = 0; j < vip->nbackends; j++)
			if (vip->backends[j].node == (unsigned int)node)
				break;
		if (j == vip->nbackends)
			return conf_fail(c, l, "node \"%s\" is not a backend of VIP \"%s\"",
					 name, vip->name);
		pin->backend[i] = j;
		for (j = 0; j < i; j++)
			if (pin->backend[j] == pin->backend[i])
				return conf_fail(c, l, "node \"%s\" is listed twice in a pin", name);
	}
	return conf_pin_policy(c, g, "all_down", "failback", pin);
}

static int conf_read_pins(struct conf_ctx *c, const config_setting_t *vg,
			  const struct ferry_conf *conf, struct conf_vip *vip)
{
	const config_setting_t *l = config_setting_get_member(vg, "pins");
	struct conf_pin defaults;
	unsigned int i, j, n;
	int r;

	memset(&defaults, 0, sizeof(defaults));
	r = conf_pin_policy(c, vg, "pin_all_down", "pin_failback", &defaults);
	if (r)
		return r;
	if (!l)
		return 0;
	if (!config_setting_is_list(l) && !config_setting_is_array(l))
		return conf_fail(c, l, "'pins' must be a list ( { peer = ...; nodes = [ ... ]; }, ... )");
	n = (unsigned int)config_setting_length(l);
	if (n > CONF_MAX_PINS_PER_VIP)
		return conf_fail(c, l, "%u pins, at most %u", n, CONF_MAX_PINS_PER_VIP);
	vip->pins = calloc(n ? n : 1, sizeof(*vip->pins));
	if (!vip->pins)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		struct conf_pin *pin = &vip->pins[i];

		*pin = defaults;
		r = conf_read_pin(c, g, conf, vip, pin);
		if (r)
			return r;
		for (j = 0; j < i; j++)
			if (vip->pins[j].plen == pin->plen &&
			    !memcmp(&vip->pins[j].addr, &pin->addr, sizeof(pin->addr)))
				return conf_fail(c, g, "the peer of this pin is pinned already at line %d",
						 vip->pins[j].line);
		vip->npins++;
	}
	return 0;
}

static const char *const vip_keys[] = { "name", "address", "port", "protocol",
					"hash", "ring_size", "health",
					"backends", "pins", "pin_all_down",
					"pin_failback", "min_healthy", NULL };

static int conf_read_vip(struct conf_ctx *c, const config_setting_t *g,
			 struct ferry_conf *conf, struct conf_vip *vip)
{
	char text[16];
	__u32 v;
	int r;

	if (!config_setting_is_group(g))
		return conf_fail(c, g, "each VIP must be a group { name = ...; ... }");
	r = conf_check_keys(c, g, "vip", vip_keys);
	if (r)
		return r;
	vip->line = config_setting_source_line(g);
	r = conf_string(c, g, "name", true, vip->name, sizeof(vip->name));
	if (r < 0)
		return r;
	r = conf_addr(c, g, "address", true, &vip->addr, &vip->family);
	if (r < 0)
		return r;
	v = 0;
	r = conf_uint(c, g, "port", true, 0, 65535, &v);
	if (r < 0)
		return r;
	vip->port = (__u16)v;
	r = conf_string(c, g, "protocol", true, text, sizeof(text));
	if (r < 0)
		return r;
	if (!strcmp(text, "tcp"))
		vip->proto = IPPROTO_TCP;
	else if (!strcmp(text, "udp"))
		vip->proto = IPPROTO_UDP;
	else
		return conf_fail(c, config_setting_get_member(g, "protocol"),
				 "protocol must be \"tcp\" or \"udp\"");
	strcpy(text, "5tuple");
	r = conf_string(c, g, "hash", false, text, sizeof(text));
	if (r < 0)
		return r;
	if (strcmp(text, "5tuple") && strcmp(text, "source"))
		return conf_fail(c, config_setting_get_member(g, "hash"),
				 "hash must be \"5tuple\" or \"source\"");
	vip->hash_source = !strcmp(text, "source");
	vip->ring_size = FERRY_RING_SIZE_DEFAULT;
	r = conf_uint(c, g, "ring_size", false, 3, FERRY_RING_SIZE_MAX,
		      &vip->ring_size);
	if (r < 0)
		return r;
	if (!maglev_is_prime(vip->ring_size))
		return conf_fail(c, config_setting_get_member(g, "ring_size"),
				 "ring_size %u is not prime", vip->ring_size);
	r = conf_read_health(c, g, vip);
	if (r)
		return r;
	r = conf_read_backends(c, g, conf, vip);
	if (r)
		return r;
	return conf_read_pins(c, g, conf, vip);
}

static int conf_check_vip_unique(struct conf_ctx *c, const config_setting_t *g,
				 const struct ferry_conf *conf,
				 const struct conf_vip *vip)
{
	unsigned int j;

	for (j = 0; j < conf->nvips; j++) {
		const struct conf_vip *o = &conf->vips[j];

		if (!strcmp(o->name, vip->name))
			return conf_fail(c, g, "VIP name \"%s\" already used at line %d",
					 vip->name, o->line);
		if (o->family == vip->family && o->proto == vip->proto &&
		    o->port == vip->port &&
		    !memcmp(&o->addr, &vip->addr, sizeof(o->addr)))
			return conf_fail(c, g, "VIP \"%s\" duplicates the address, port and protocol of \"%s\" (line %d)",
					 vip->name, o->name, o->line);
	}
	return 0;
}

static int conf_check_families(struct conf_ctx *c, const config_setting_t *g,
			       const struct ferry_conf *conf,
			       const struct conf_vip *vip)
{
	unsigned int i;

	for (i = 0; i < vip->nbackends; i++) {
		const struct conf_node *n = &conf->nodes[vip->backends[i].node];

		if (n->family == LB_AF_INET && !conf->dp.has_src_v4)
			return conf_fail(c, g, "VIP \"%s\" has IPv4 node \"%s\" but dataplane.encap_source_v4 is not set",
					 vip->name, n->name);
		if (n->family == LB_AF_INET6 && !conf->dp.has_src_v6)
			return conf_fail(c, g, "VIP \"%s\" has IPv6 node \"%s\" but dataplane.encap_source_v6 is not set",
					 vip->name, n->name);
	}
	return 0;
}

static int conf_read_vips(struct conf_ctx *c, const config_setting_t *root,
			  struct ferry_conf *conf)
{
	const config_setting_t *l = config_setting_get_member(root, "vips");
	unsigned int i, n, nbe = 0, npins = 0;
	int r;

	if (!l)
		return conf_fail(c, NULL, "missing list 'vips'");
	if (!config_setting_is_list(l) && !config_setting_is_array(l))
		return conf_fail(c, l, "'vips' must be a list ( { ... }, ... )");
	n = (unsigned int)config_setting_length(l);
	if (n > FERRY_MAX_VIPS)
		return conf_fail(c, l, "%u VIPs, at most %u", n, FERRY_MAX_VIPS);
	conf->vips = calloc(n ? n : 1, sizeof(*conf->vips));
	if (!conf->vips)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, i);
		struct conf_vip *vip = &conf->vips[i];

		r = conf_read_vip(c, g, conf, vip);
		if (!r)
			r = conf_check_vip_unique(c, g, conf, vip);
		if (!r)
			r = conf_check_families(c, g, conf, vip);
		if (r) {
			free(vip->backends);
			free(vip->pins);
			vip->backends = NULL;
			vip->pins = NULL;
			return r;
		}
		conf->nvips++;
		npins += vip->npins;
		if (npins > FERRY_MAX_PINS)
			return conf_fail(c, g, "more than %u pins in all",
					 FERRY_MAX_PINS);
		nbe += vip->nbackends;
		if (nbe > FERRY_MAX_BACKENDS)
			return conf_fail(c, g, "more than %u backends in all",
					 FERRY_MAX_BACKENDS);
	}
	return 0;
}

static const char *const control_keys[] = { "socket", "socket_mode", NULL };
static const char *const exporter_keys[] = { "listen", NULL };

/* "host:port" or "[v6]:port", checked for form and range. */
static bool conf_listen_ok(const char *text)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':');
	struct in6_addr a6;
	struct in_addr a4;
	char *end;
	long port;
	size_t hl;

	if (!colon || colon == text)
		return false;
	port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port < 1 || port > 65535)
		return false;
	hl = (size_t)(colon - text);
	if (hl >= sizeof(host))
		return false;
	memcpy(host, text, hl);
	host[hl] = 0;
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		return inet_pton(AF_INET6, host + 1, &a6) == 1;
	}
	return inet_pton(AF_INET, host, &a4) == 1;
}

static int conf_read_control(struct conf_ctx *c, const config_setting_t *root,
			     struct conf_control *ctl)
{
	const config_setting_t *g = config_setting_get_member(root, "control");
	const config_setting_t *x = config_setting_get_member(root, "exporter");
	char mode[8] = "0660", *end;
	long m;
	int r;

	snprintf(ctl->socket, sizeof(ctl->socket), "%s", CONF_SOCKET_DEFAULT);
	snprintf(ctl->exporter, sizeof(ctl->exporter), "%s",
		 CONF_EXPORTER_DEFAULT);
	if (g) {
		if (!config_setting_is_group(g))
			return conf_fail(c, g, "'control' must be a group { ... }");
		r = conf_check_keys(c, g, "control", control_keys);
		if (r)
			return r;
		r = conf_string(c, g, "socket", false, ctl->socket,
				sizeof(ctl->socket));
		if (r < 0)
			return r;
		if (ctl->socket[0] != '/' || strlen(ctl->socket) > 100)
			return conf_fail(c, config_setting_get_member(g, "socket"),
					 "control socket must be an absolute path of at most 100 characters");
		r = conf_string(c, g, "socket_mode", false, mode, sizeof(mode));
		if (r < 0)
			return r;
	}
	m = strtol(mode, &end, 8);
	if (*end || m < 0 || m > 0777)
		return conf_fail(c, g ? config_setting_get_member(g, "socket_mode") : g,
				 "socket_mode must be an octal mode such as \"0660\"");
	ctl->socket_mode = (mode_t)m;
	if (!x)
		return 0;
	if (!config_setting_is_group(x))
		return conf_fail(c, x, "'exporter' must be a group { listen = ...; }");
	r = conf_check_keys(c, x, "exporter", exporter_keys);
	if (r)
		return r;
	r = conf_string(c, x, "listen", false, ctl->exporter,
			sizeof(ctl->exporter));
	if (r < 0)
		return r;
	if (strcmp(ctl->exporter, "off") && !conf_listen_ok(ctl->exporter))
		return conf_fail(c, config_setting_get_member(x, "listen"),
				 "exporter listen must be \"address:port\", \"[v6 address]:port\" or \"off\"");
	if (!strcmp(ctl->exporter, "off"))
		ctl->exporter[0] = 0;
	return 0;
}

static const char *const announce_keys[] = { "table", "min_healthy", NULL };

/* Tables the kernel owns (unspec, default, main, local): never ours. */
static bool conf_table_reserved(__u32 t)
{
	return t == 0 || t == 253 || t == 254 || t == 255;
}

/* A VIP's own min_healthy (a member of its group in the 'vips' list),
 * else the announce group's. After conf_read_vips. */
static int conf_read_vip_min_healthy(struct conf_ctx *c,
				     const config_setting_t *g,
				     const struct conf_announce *an,
				     struct conf_vip *vip)
{
	const config_setting_t *s = config_setting_get_member(g, "min_healthy");
	int r;

	vip->min_healthy = an->min_healthy;
	if (!s)
		return 0;
	if (!an->enabled)
		return conf_fail(c, s, "VIP \"%s\": min_healthy needs the top-level 'announce' group",
				 vip->name);
	r = conf_uint(c, g, "min_healthy", false, 0, CONF_MAX_BACKENDS_PER_VIP,
		      &vip->min_healthy);
	if (r < 0)
		return r;
	if (vip->min_healthy > vip->nbackends)
		return conf_fail(c, s, "VIP \"%s\": min_healthy %u exceeds its %u backends (it would never be announced)",
				 vip->name, vip->min_healthy, vip->nbackends);
	return 0;
}

/* `announce` (optional): the kernel table ferryd keeps one route per
 * announced VIP address in, for BIRD to learn and export over BGP. */
static int conf_read_announce(struct conf_ctx *c, const config_setting_t *root,
			      struct ferry_conf *conf)
{
	const config_setting_t *g = config_setting_get_member(root, "announce");
	const config_setting_t *l = config_setting_get_member(root, "vips");
	struct conf_announce *an = &conf->announce;
	unsigned int i;
	int r;

	an->enabled = g != NULL;
	an->table = 0;
	an->min_healthy = CONF_ANNOUNCE_MIN_HEALTHY_DEFAULT;
	if (g) {
		if (!config_setting_is_group(g))
			return conf_fail(c, g, "'announce' must be a group { table = ...; }");
		r = conf_check_keys(c, g, "announce", announce_keys);
		if (r)
			return r;
		r = conf_uint(c, g, "table", true, 1, 4294967295LL, &an->table);
		if (r < 0)
			return r;
		if (conf_table_reserved(an->table))
			return conf_fail(c, config_setting_get_member(g, "table"),
					 "announce table %u is the kernel's (default, main or local): use a table of its own, e.g. 100",
					 an->table);
		r = conf_uint(c, g, "min_healthy", false, 0,
			      CONF_MAX_BACKENDS_PER_VIP, &an->min_healthy);
		if (r < 0)
			return r;
	}
	for (i = 0; l && i < conf->nvips; i++) {
		r = conf_read_vip_min_healthy(c, config_setting_get_elem(l, i), an,
					      &conf->vips[i]);
		if (r)
			return r;
	}
	return 0;
}

static const char *const top_keys[] = { "dataplane", "control", "exporter",
					"nodes", "vips", "announce", NULL };

static struct ferry_conf *conf_parse(config_t *cfg, struct conf_ctx *c)
{
	const config_setting_t *root = config_root_setting(cfg);
	struct ferry_conf *conf = calloc(1, sizeof(*conf));

	if (!conf) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
		return NULL;
	}
	snprintf(conf->path, sizeof(conf->path), "%s", c->file);
	if (conf_check_keys(c, root, "the top level", top_keys) ||
	    conf_read_dataplane(c, root, &conf->dp) ||
	    conf_read_control(c, root, &conf->ctl) ||
	    conf_read_nodes(c, root, conf) || conf_read_vips(c, root, conf) ||
	    conf_read_announce(c, root, conf)) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

static struct ferry_conf *conf_finish(config_t *cfg, int ok, const char *name,
				      char *err, size_t errlen)
{
	struct conf_ctx c = { .file = name, .err = err, .errlen = errlen };
	struct ferry_conf *conf = NULL;

	if (!ok) {
		if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read: %s", name,
				 strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: %s",
				 config_error_file(cfg) ? config_error_file(cfg) :
							  name,
				 config_error_line(cfg), config_error_text(cfg));
	} else {
		conf = conf_parse(cfg, &c);
	}
	config_destroy(cfg);
	return conf;
}

struct ferry_conf *conf_load(const char *path, char *err, size_t errlen)
{
	config_t cfg;

	config_init(&cfg);
	return conf_finish(&cfg, config_read_file(&cfg, path) == CONFIG_TRUE,
			   path, err, errlen);
}

struct ferry_conf *conf_load_string(const char *text, const char *name,
				    char *err, size_t errlen)
{
	config_t cfg;

	config_init(&cfg);
	return conf_finish(&cfg, config_read_string(&cfg, text) == CONFIG_TRUE,
			   name, err, errlen);
}

void conf_free(struct ferry_conf *conf)
{
	unsigned int i;

	if (!conf)
		return;
	for (i = 0; i < conf->nvips; i++) {
		free(conf->vips[i].backends);
		free(conf->vips[i].pins);
	}
	free(conf->vips);
	free(conf->nodes);
	free(conf);
}

const char *conf_addr_str(const union lb_addr *a, __u8 family, char *buf,
			  size_t len)
{
	if (!inet_ntop(family == LB_AF_INET6 ? AF_INET6 : AF_INET, a, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}
