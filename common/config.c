/* config.c - etc/webserver.conf parser: a table of keys, each with a type
 * and a range; no I/O beyond reading the file, never exits.
 * SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defs.h"
#include "log.h"

enum config_type { CT_STR, CT_INT, CT_DURATION, CT_SIZE, CT_BOOL,
                   CT_LEVEL, CT_ADDRESS,
                   CT_PORT_OFF,     /* "off" (-1) or a port */
                   CT_DURATION_OFF, /* "off" (0) or a duration */
                   CT_COOKIE_SECURE,
                   CT_PROTOCOLS,
                   CT_CIDRS,        /* struct config_cidrs */
                   CT_HOSTPORTS };  /* struct config_hostports */

struct config_key {
    const char      *name;
    enum config_type type;
    size_t           offset;
    size_t           size;      /* CT_STR: buffer size */
    int64_t          min, max;  /* CT_INT, CT_DURATION (ms), CT_SIZE */
};

#define KEY(n, t, f, lo, hi) \
    { #n, t, offsetof(struct config, f), sizeof(((struct config *) 0)->f), lo, hi }

#define DAY_MS  (24LL * 3600 * 1000)
#define GIB     (1024LL * 1024 * 1024)

static const struct config_key config_keys[] = {
    KEY(listen_address,         CT_ADDRESS,  listen_address, 0, 0),
    KEY(port,                   CT_INT,      port, 0, 65535),
    KEY(port_file,              CT_STR,      port_file, 0, 0),
    KEY(processes,              CT_INT,      processes, 0, 256),
    KEY(max_connections,        CT_INT,      max_connections, 1, 1000000),
    KEY(backlog,                CT_INT,      backlog, 1, 65535),
    KEY(root,                   CT_STR,      root, 0, 0),
    KEY(index,                  CT_STR,      index, 0, 0),
    KEY(static_cache_control,   CT_STR,      static_cache_control, 0, 0),
    KEY(gzip_static,            CT_BOOL,     gzip_static, 0, 0),
    KEY(keepalive_timeout,      CT_DURATION, keepalive_timeout, 0, DAY_MS),
    KEY(header_timeout,         CT_DURATION, header_timeout, 1, DAY_MS),
    KEY(send_timeout,           CT_DURATION, send_timeout, 1, DAY_MS),
    KEY(max_request_header,     CT_SIZE,     max_request_header, 1024, 1024 * 1024),
    KEY(max_request_body,       CT_SIZE,     max_request_body, 0, GIB),
    KEY(max_keepalive_requests, CT_INT,      max_keepalive_requests, 1, INT_MAX),
    KEY(shutdown_timeout,       CT_DURATION, shutdown_timeout, 0, DAY_MS),
    KEY(body_timeout,           CT_DURATION, body_timeout, 1, DAY_MS),
    KEY(redis_host,             CT_STR,      redis_host, 0, 0),
    KEY(redis_port,             CT_INT,      redis_port, 1, 65535),
    KEY(redis_password,         CT_STR,      redis_password, 0, 0),
    KEY(redis_db,               CT_INT,      redis_db, 0, 1000000),
    KEY(redis_timeout,          CT_DURATION, redis_timeout, 1, DAY_MS),
    KEY(redis_reconnect_min,    CT_DURATION, redis_reconnect_min, 1, DAY_MS),
    KEY(redis_reconnect_max,    CT_DURATION, redis_reconnect_max, 1, DAY_MS),
    KEY(session_ttl,            CT_DURATION, session_ttl, 1000, 365 * DAY_MS),
    KEY(hash_queue_max,         CT_INT,      hash_queue_max, 1, 1000000),
    KEY(error_log,              CT_STR,      error_log, 0, 0),
    KEY(log_level,              CT_LEVEL,    log_level, 0, 0),
    KEY(access_log,             CT_STR,      access_log, 0, 0),
    KEY(pid_file,               CT_STR,      pid_file, 0, 0),
    KEY(daemon,                 CT_BOOL,     daemon, 0, 0),
    KEY(tls_port,               CT_PORT_OFF, tls_port, 0, 65535),
    KEY(tls_port_file,          CT_STR,      tls_port_file, 0, 0),
    KEY(tls_certificate,        CT_STR,      tls_certificate, 0, 0),
    KEY(tls_certificate_key,    CT_STR,      tls_certificate_key, 0, 0),
    KEY(tls_protocols,          CT_PROTOCOLS, tls_protocols, 0, 0),
    KEY(tls_ciphers,            CT_STR,      tls_ciphers, 0, 0),
    KEY(redirect_to_https,      CT_BOOL,     redirect_to_https, 0, 0),
    KEY(hsts,                   CT_DURATION_OFF, hsts, 1000, 2 * 365 * DAY_MS),
    KEY(cookie_secure,          CT_COOKIE_SECURE, cookie_secure, 0, 0),
    KEY(login_max_failures,     CT_INT,      login_max_failures, 1, 1000000),
    KEY(login_failure_window,   CT_DURATION, login_failure_window, 1000, 30 * DAY_MS),
    KEY(security_headers,       CT_BOOL,     security_headers, 0, 0),
    KEY(trusted_proxies,        CT_CIDRS,    trusted_proxies, 0, 0),
    KEY(proxy_protocol,         CT_BOOL,     proxy_protocol, 0, 0),
    KEY(status_allow,           CT_CIDRS,    status_allow, 0, 0),
    KEY(redis_sentinels,        CT_HOSTPORTS, redis_sentinels, 0, 0),
    KEY(redis_master_name,      CT_STR,      redis_master_name, 0, 0),
    KEY(redis_wait_replicas,    CT_INT,      redis_wait_replicas, 0, 1000),
};

_Static_assert(ARRAY_SIZE(config_keys) <= CONFIG_KEYS_MAX,
               "CONFIG_KEYS_MAX is too small for the key table");

void
config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->listen_address, "127.0.0.1");
    cfg->port = 8080;
    cfg->processes = 0;
    cfg->max_connections = 10000;
    cfg->backlog = 4096;
    strcpy(cfg->root, "html");
    strcpy(cfg->index, "index.html");
    cfg->gzip_static = true;
    cfg->keepalive_timeout = 15 * 1000;
    cfg->header_timeout = 10 * 1000;
    cfg->send_timeout = 30 * 1000;
    cfg->max_request_header = 8 * 1024;
    cfg->max_request_body = 1024 * 1024;
    cfg->max_keepalive_requests = 10000;
    cfg->shutdown_timeout = 30 * 1000;
    cfg->body_timeout = 15 * 1000;
    strcpy(cfg->redis_host, "127.0.0.1");
    cfg->redis_port = 6379;
    cfg->redis_db = 0;
    cfg->redis_timeout = 1000;
    cfg->redis_reconnect_min = 1000;
    cfg->redis_reconnect_max = 32 * 1000;
    cfg->session_ttl = 30 * 60 * 1000;
    cfg->hash_queue_max = 64;
    strcpy(cfg->error_log, "stderr");
    cfg->log_level = LOG_NOTICE;
    strcpy(cfg->access_log, "off");
    cfg->daemon = false;
    cfg->tls_port = -1;
    strcpy(cfg->tls_protocols, "TLSv1.2 TLSv1.3");
    cfg->cookie_secure = CONFIG_COOKIE_SECURE_AUTO;
    cfg->login_max_failures = 5;
    cfg->login_failure_window = 15 * 60 * 1000;
    cfg->security_headers = true;
    net_cidr_parse("127.0.0.1/32", &cfg->status_allow.v[0]);
    net_cidr_parse("::1/128", &cfg->status_allow.v[1]);
    cfg->status_allow.n = 2;
    strcpy(cfg->redis_master_name, "mymaster");
}

/* "none" or a blank-separated list of blocks into *OUT. */
static int
config_parse_cidrs(const char *key, const char *value, struct config_cidrs *out,
                   char *err, size_t errlen)
{
    char tmp[4096], *save = NULL, *tok;
    struct config_cidrs list = { 0 };

    if (strlen(value) >= sizeof(tmp)) {
        snprintf(err, errlen, "value of \"%s\" is too long", key);
        return RC_ERR;
    }
    strcpy(tmp, value);
    if (strcmp(tmp, "none") != 0) {
        for (tok = strtok_r(tmp, " \t,", &save); tok != NULL;
             tok = strtok_r(NULL, " \t,", &save)) {
            if (list.n == CONFIG_CIDRS_MAX) {
                snprintf(err, errlen, "\"%s\" takes at most %d blocks", key,
                         CONFIG_CIDRS_MAX);
                return RC_ERR;
            }
            if (net_cidr_parse(tok, &list.v[list.n]) != RC_OK) {
                snprintf(err, errlen, "\"%s\": \"%s\" is not an address or "
                         "a block like 10.0.0.0/8 or fd00::/8", key, tok);
                return RC_ERR;
            }
            list.n++;
        }
    }
    *out = list;
    return RC_OK;
}

/* "host:port host:port ..." ("[::1]:26379" for IPv6) into *OUT. */
static int
config_parse_hostports(const char *key, const char *value,
                       struct config_hostports *out, char *err, size_t errlen)
{
    char tmp[4096], *save = NULL, *tok;
    struct config_hostports list;

    memset(&list, 0, sizeof(list));
    if (strlen(value) >= sizeof(tmp)) {
        snprintf(err, errlen, "value of \"%s\" is too long", key);
        return RC_ERR;
    }
    strcpy(tmp, value);
    for (tok = strtok_r(tmp, " \t,", &save); tok != NULL;
         tok = strtok_r(NULL, " \t,", &save)) {
        char *colon = strrchr(tok, ':'), *host = tok, *end;
        unsigned long port;
        size_t hlen;

        if (list.n == CONFIG_SENTINELS_MAX) {
            snprintf(err, errlen, "\"%s\" takes at most %d entries", key,
                     CONFIG_SENTINELS_MAX);
            return RC_ERR;
        }
        if (colon == NULL || colon == tok)
            goto bad;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0
            || port < 1 || port > 65535)
            goto bad;
        hlen = (size_t) (colon - tok);
        if (host[0] == '[') {
            if (hlen < 3 || host[hlen - 1] != ']')
                goto bad;
            host++;
            hlen -= 2;
        } else if (memchr(host, ':', hlen) != NULL) {
            goto bad;           /* IPv6 needs brackets */
        }
        if (hlen == 0 || hlen >= CONFIG_HOST_MAX)
            goto bad;
        memcpy(list.v[list.n].host, host, hlen);
        list.v[list.n].host[hlen] = '\0';
        list.v[list.n].port = (int) port;
        list.n++;
        continue;
bad:
        snprintf(err, errlen, "\"%s\": \"%s\" is not host:port "
                 "([addr]:port for IPv6)", key, tok);
        return RC_ERR;
    }
    *out = list;
    return RC_OK;
}

/* Split S into a decimal number and a unit suffix. */
static int
config_split_number(const char *s, uint64_t *num, const char **unit)
{
    uint64_t v = 0;
    const char *p = s;

    if (!isdigit((unsigned char) *p))
        return RC_ERR;
    while (isdigit((unsigned char) *p)) {
        unsigned d = (unsigned) (*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return RC_ERR;
        v = v * 10 + d;
        p++;
    }
    *num = v;
    *unit = p;
    return RC_OK;
}

int
config_parse_duration(const char *s, int64_t *ms)
{
    uint64_t v, mul;
    const char *unit;

    if (config_split_number(s, &v, &unit) != RC_OK)
        return RC_ERR;
    if (strcmp(unit, "ms") == 0)
        mul = 1;
    else if (*unit == '\0' || strcmp(unit, "s") == 0)
        mul = 1000;
    else if (strcmp(unit, "m") == 0)
        mul = 60 * 1000;
    else if (strcmp(unit, "h") == 0)
        mul = 3600 * 1000;
    else if (strcmp(unit, "d") == 0)
        mul = 24ULL * 3600 * 1000;
    else
        return RC_ERR;
    if (v > (uint64_t) INT64_MAX / mul)
        return RC_ERR;
    *ms = (int64_t) (v * mul);
    return RC_OK;
}

int
config_parse_size(const char *s, size_t *bytes)
{
    uint64_t v, mul;
    const char *unit;

    if (config_split_number(s, &v, &unit) != RC_OK)
        return RC_ERR;
    if (*unit == '\0')
        mul = 1;
    else if (strcasecmp(unit, "k") == 0)
        mul = 1024;
    else if (strcasecmp(unit, "m") == 0)
        mul = 1024 * 1024;
    else if (strcasecmp(unit, "g") == 0)
        mul = 1024ULL * 1024 * 1024;
    else
        return RC_ERR;
    if (v > SIZE_MAX / mul)
        return RC_ERR;
    *bytes = (size_t) (v * mul);
    return RC_OK;
}

static int
config_parse_bool(const char *s, bool *out)
{
    if (strcmp(s, "on") == 0 || strcmp(s, "yes") == 0
        || strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = true;
        return RC_OK;
    }
    if (strcmp(s, "off") == 0 || strcmp(s, "no") == 0
        || strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *out = false;
        return RC_OK;
    }
    return RC_ERR;
}

static int
config_key_index(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(config_keys); i++) {
        if (strcmp(config_keys[i].name, key) == 0)
            return (int) i;
    }
    return -1;
}

int
config_set(struct config *cfg, const char *key, const char *value,
           char *err, size_t errlen)
{
    const struct config_key *k = NULL;
    char *field;
    int64_t d;
    size_t sz;
    uint64_t v;
    const char *unit;

    int i = config_key_index(key);

    if (i < 0) {
        snprintf(err, errlen, "unknown key \"%s\"", key);
        return RC_ERR;
    }
    k = &config_keys[i];
    field = (char *) cfg + k->offset;
    cfg->key_line[i] = 0;       /* config_load() sets it after us */

    switch (k->type) {
    case CT_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "value of \"%s\" is too long (max %zu)",
                     key, k->size - 1);
            return RC_ERR;
        }
        if ((strcmp(key, "root") == 0 || strcmp(key, "index") == 0
             || strcmp(key, "redis_master_name") == 0)
            && value[0] == '\0') {
            snprintf(err, errlen, "\"%s\" must not be empty", key);
            return RC_ERR;
        }
        if (strcmp(key, "index") == 0 && strchr(value, '/') != NULL) {
            snprintf(err, errlen, "\"index\" must be a file name, not a path");
            return RC_ERR;
        }
        if (strcmp(key, "static_cache_control") == 0) {
            /* goes into a header line as it is */
            for (const char *p = value; *p != '\0'; p++) {
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f) {
                    snprintf(err, errlen, "\"%s\" must be printable ASCII",
                             key);
                    return RC_ERR;
                }
            }
        }
        strcpy(field, value);
        return RC_OK;

    case CT_ADDRESS: {
        unsigned char tmp[sizeof(struct in6_addr)];
        if (strlen(value) >= k->size
            || (inet_pton(AF_INET, value, tmp) != 1
                && inet_pton(AF_INET6, value, tmp) != 1)) {
            snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 address",
                     value);
            return RC_ERR;
        }
        strcpy(field, value);
        return RC_OK;
    }

    case CT_INT:
        if (config_split_number(value, &v, &unit) != RC_OK || *unit != '\0'
            || v < (uint64_t) k->min || v > (uint64_t) k->max) {
            snprintf(err, errlen, "\"%s\" needs an integer from %" PRId64
                     " to %" PRId64 ", not \"%s\"", key, k->min, k->max, value);
            return RC_ERR;
        }
        *(int *) field = (int) v;
        return RC_OK;

    case CT_DURATION:
        if (config_parse_duration(value, &d) != RC_OK) {
            snprintf(err, errlen, "\"%s\" needs a duration like 500ms, 15s, "
                     "30m or 1h, not \"%s\"", key, value);
            return RC_ERR;
        }
        if (d < k->min || d > k->max) {
            snprintf(err, errlen, "\"%s\" must be from %" PRId64 "ms to %"
                     PRId64 "ms", key, k->min, k->max);
            return RC_ERR;
        }
        *(int64_t *) field = d;
        return RC_OK;

    case CT_SIZE:
        if (config_parse_size(value, &sz) != RC_OK) {
            snprintf(err, errlen, "\"%s\" needs a size like 512, 8k or 1m, "
                     "not \"%s\"", key, value);
            return RC_ERR;
        }
        if ((int64_t) sz < k->min || (int64_t) sz > k->max) {
            snprintf(err, errlen, "\"%s\" must be from %" PRId64 " to %"
                     PRId64 " bytes", key, k->min, k->max);
            return RC_ERR;
        }
        *(size_t *) field = sz;
        return RC_OK;

    case CT_BOOL:
        if (config_parse_bool(value, (bool *) field) != RC_OK) {
            snprintf(err, errlen, "\"%s\" needs on or off, not \"%s\"",
                     key, value);
            return RC_ERR;
        }
        return RC_OK;

    case CT_PORT_OFF:
        if (strcmp(value, "off") == 0) {
            *(int *) field = -1;
            return RC_OK;
        }
        if (config_split_number(value, &v, &unit) != RC_OK || *unit != '\0'
            || v > (uint64_t) k->max) {
            snprintf(err, errlen, "\"%s\" needs off or a port from 0 to %"
                     PRId64 ", not \"%s\"", key, k->max, value);
            return RC_ERR;
        }
        *(int *) field = (int) v;
        return RC_OK;

    case CT_DURATION_OFF:
        if (strcmp(value, "off") == 0) {
            *(int64_t *) field = 0;
            return RC_OK;
        }
        if (config_parse_duration(value, &d) != RC_OK
            || d < k->min || d > k->max) {
            snprintf(err, errlen, "\"%s\" needs off or a duration from %"
                     PRId64 "s to %" PRId64 "s, not \"%s\"", key,
                     k->min / 1000, k->max / 1000, value);
            return RC_ERR;
        }
        *(int64_t *) field = d;
        return RC_OK;

    case CT_COOKIE_SECURE:
        if (strcmp(value, "auto") == 0)
            *(int *) field = CONFIG_COOKIE_SECURE_AUTO;
        else if (strcmp(value, "on") == 0)
            *(int *) field = CONFIG_COOKIE_SECURE_ON;
        else if (strcmp(value, "off") == 0)
            *(int *) field = CONFIG_COOKIE_SECURE_OFF;
        else {
            snprintf(err, errlen, "\"%s\" needs auto, on or off, not \"%s\"",
                     key, value);
            return RC_ERR;
        }
        return RC_OK;

    case CT_PROTOCOLS: {
        /* a blank-separated list of TLSv1.2, TLSv1.3; at least one */
        char tmp[64], *save = NULL, *tok;
        int n = 0;
        if (strlen(value) >= sizeof(tmp) || strlen(value) >= k->size) {
            snprintf(err, errlen, "value of \"%s\" is too long", key);
            return RC_ERR;
        }
        strcpy(tmp, value);
        for (tok = strtok_r(tmp, " \t", &save); tok != NULL;
             tok = strtok_r(NULL, " \t", &save)) {
            if (strcmp(tok, "TLSv1.2") != 0 && strcmp(tok, "TLSv1.3") != 0) {
                snprintf(err, errlen, "\"%s\": unknown protocol \"%s\" "
                         "(TLSv1.2, TLSv1.3)", key, tok);
                return RC_ERR;
            }
            n++;
        }
        if (n == 0) {
            snprintf(err, errlen, "\"%s\" names no protocol", key);
            return RC_ERR;
        }
        strcpy(field, value);
        return RC_OK;
    }

    case CT_CIDRS:
        return config_parse_cidrs(key, value, (struct config_cidrs *) field,
                                  err, errlen);

    case CT_HOSTPORTS:
        return config_parse_hostports(key, value,
                                      (struct config_hostports *) field,
                                      err, errlen);

    case CT_LEVEL: {
        int level = log_level_parse(value);
        if (level < 0) {
            snprintf(err, errlen, "\"%s\" needs one of crit, err, warn, "
                     "notice, info, debug, not \"%s\"", key, value);
            return RC_ERR;
        }
        *(int *) field = level;
        return RC_OK;
    }
    }
    snprintf(err, errlen, "internal error on \"%s\"", key);
    return RC_ERR;
}

static char *
config_trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'
                       || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

/* Parse one line in place. Returns RC_OK (setting applied or nothing on the
 * line) or RC_ERR with a message in ERR. *KEY_OUT: index of the key set,
 * or -1. */
static int
config_line(struct config *cfg, char *line, int *key_out, char *err,
            size_t errlen)
{
    char *key, *value, *eq, *p;
    bool quoted = false;

    /* a comment starts at '#' at the start of the line or after a blank */
    for (p = line; *p != '\0'; p++) {
        if (*p == '"')
            quoted = !quoted;
        if (*p == '#' && !quoted && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    key = config_trim(line);
    if (*key == '\0')
        return RC_OK;

    eq = strchr(key, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected \"key = value\"");
        return RC_ERR;
    }
    *eq = '\0';
    key = config_trim(key);
    value = config_trim(eq + 1);
    if (*key == '\0') {
        snprintf(err, errlen, "missing key before '='");
        return RC_ERR;
    }
    for (p = key; *p; p++) {
        if (!(islower((unsigned char) *p) || *p == '_' || isdigit((unsigned char) *p))) {
            snprintf(err, errlen, "bad key \"%s\"", key);
            return RC_ERR;
        }
    }
    if (value[0] == '"') {
        size_t n = strlen(value);
        if (n < 2 || value[n - 1] != '"') {
            snprintf(err, errlen, "unterminated quoted value");
            return RC_ERR;
        }
        value[n - 1] = '\0';
        value++;
    } else if (*value == '\0') {
        snprintf(err, errlen, "missing value for \"%s\"", key);
        return RC_ERR;
    }
    *key_out = config_key_index(key);
    return config_set(cfg, key, value, err, errlen);
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
    char line[4096], msg[CONFIG_ERR_MAX];
    unsigned lineno = 0;
    FILE *f;

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errlen, "%s:0: cannot open: %s", path, strerror(errno));
        return RC_ERR;
    }
    if (strlen(path) < sizeof(cfg->file))
        strcpy(cfg->file, path);
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%u: line too long", path, lineno);
            fclose(f);
            return RC_ERR;
        }
        int key = -1;
        if (config_line(cfg, line, &key, msg, sizeof(msg)) != RC_OK) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
            fclose(f);
            return RC_ERR;
        }
        if (key >= 0)
            cfg->key_line[key] = lineno;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s:%u: read error", path, lineno);
        fclose(f);
        return RC_ERR;
    }
    fclose(f);
    return RC_OK;
}

const char *
config_where(const struct config *cfg, const char *key, char *out,
             size_t outlen)
{
    int i = config_key_index(key);

    if (i >= 0 && cfg->key_line[i] > 0 && cfg->file[0] != '\0')
        snprintf(out, outlen, "%s:%u", cfg->file, (unsigned) cfg->key_line[i]);
    else
        snprintf(out, outlen, "%s", key);
    return out;
}

bool
config_tls_protocol_on(const struct config *cfg, const char *version)
{
    size_t n = strlen(version);

    for (const char *p = cfg->tls_protocols; (p = strstr(p, version)) != NULL;
         p += n) {
        if ((p == cfg->tls_protocols || p[-1] == ' ' || p[-1] == '\t')
            && (p[n] == '\0' || p[n] == ' ' || p[n] == '\t'))
            return true;
    }
    return false;
}

int
config_check(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->redis_reconnect_min > cfg->redis_reconnect_max) {
        snprintf(err, errlen, "redis_reconnect_min is larger than "
                 "redis_reconnect_max");
        return RC_ERR;
    }
    if (cfg->max_request_header < 1024) {
        snprintf(err, errlen, "max_request_header must be at least 1k");
        return RC_ERR;
    }
    return RC_OK;
}
