/* test_config.c - config.h: defaults, every key, units, config_load, check.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "defs.h"
#include "log.h"

#ifndef SOURCE_DIR
#define SOURCE_DIR "."
#endif

/* Fail a table case, naming the table line it was written on (lighttpd). */
#define CASE_CHECK(c, cond)                                                 \
    do {                                                                    \
        if (!(cond))                                                        \
            fail_msg("case at line %d: %s", (c)->line, #cond);             \
    } while (0)

/* ---- Fields: every key of the DESIGN.md table, and where it lives ---- */

/* F_LIST: a config_cidrs / config_hostports; its number is the count */
enum ftype { F_STR, F_INT, F_MS, F_BYTES, F_BOOL, F_LIST };

struct field {
    const char *key;
    enum ftype  type;
    size_t      off;
    size_t      size;
};

#define FIELD(k, t) \
    { #k, t, offsetof(struct config, k), sizeof(((struct config *) 0)->k) }

static const struct field fields[] = {
    FIELD(listen_address, F_STR),
    FIELD(port, F_INT),
    FIELD(port_file, F_STR),
    FIELD(processes, F_INT),
    FIELD(max_connections, F_INT),
    FIELD(backlog, F_INT),
    FIELD(root, F_STR),
    FIELD(index, F_STR),
    FIELD(static_cache_control, F_STR),
    FIELD(gzip_static, F_BOOL),
    FIELD(keepalive_timeout, F_MS),
    FIELD(header_timeout, F_MS),
    FIELD(send_timeout, F_MS),
    FIELD(max_request_header, F_BYTES),
    FIELD(max_request_body, F_BYTES),
    FIELD(max_keepalive_requests, F_INT),
    FIELD(shutdown_timeout, F_MS),
    FIELD(redis_host, F_STR),
    FIELD(redis_port, F_INT),
    FIELD(redis_password, F_STR),
    FIELD(redis_db, F_INT),
    FIELD(redis_timeout, F_MS),
    FIELD(redis_reconnect_min, F_MS),
    FIELD(redis_reconnect_max, F_MS),
    FIELD(session_ttl, F_MS),
    FIELD(error_log, F_STR),
    FIELD(log_level, F_INT),
    FIELD(access_log, F_STR),
    FIELD(pid_file, F_STR),
    FIELD(daemon, F_BOOL),
    FIELD(tls_port, F_INT),
    FIELD(tls_port_file, F_STR),
    FIELD(tls_certificate, F_STR),
    FIELD(tls_certificate_key, F_STR),
    FIELD(tls_protocols, F_STR),
    FIELD(tls_ciphers, F_STR),
    FIELD(redirect_to_https, F_BOOL),
    FIELD(hsts, F_MS),
    FIELD(cookie_secure, F_INT),
    FIELD(login_max_failures, F_INT),
    FIELD(login_failure_window, F_MS),
    FIELD(security_headers, F_BOOL),
    FIELD(trusted_proxies, F_LIST),
    FIELD(proxy_protocol, F_BOOL),
    FIELD(status_allow, F_LIST),
    FIELD(redis_sentinels, F_LIST),
    FIELD(redis_master_name, F_STR),
    FIELD(redis_wait_replicas, F_INT),
};

static const struct field *
field_find(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (strcmp(fields[i].key, key) == 0)
            return &fields[i];
    }
    fail_msg("no field for key \"%s\"", key);
    return NULL;
}

/* The numeric value of field F in CFG (strings are compared separately). */
static int64_t
field_num(const struct config *cfg, const struct field *f)
{
    const char *p = (const char *) cfg + f->off;

    switch (f->type) {
    case F_INT:   return *(const int *) p;
    case F_MS:    return *(const int64_t *) p;
    case F_BYTES: return (int64_t) *(const size_t *) p;
    case F_BOOL:  return *(const bool *) p;
    case F_LIST:  return *(const int *) p;     /* the n member comes first */
    case F_STR:   break;
    }
    fail_msg("field \"%s\" is not numeric", f->key);
    return 0;
}

static const char *
field_str(const struct config *cfg, const struct field *f)
{
    return (const char *) cfg + f->off;
}

/* ---- Defaults ---- */

struct default_case {
    int         line;
    const char *key;
    const char *str;    /* F_STR */
    int64_t     num;    /* everything else */
};

static const struct default_case default_cases[] = {
    { __LINE__, "listen_address", "127.0.0.1", 0 },
    { __LINE__, "port", NULL, 8080 },
    { __LINE__, "port_file", "", 0 },
    { __LINE__, "processes", NULL, 0 },
    { __LINE__, "max_connections", NULL, 10000 },
    { __LINE__, "backlog", NULL, 4096 },
    { __LINE__, "root", "html", 0 },
    { __LINE__, "index", "index.html", 0 },
    { __LINE__, "static_cache_control", "", 0 },
    { __LINE__, "gzip_static", NULL, 1 },
    { __LINE__, "keepalive_timeout", NULL, 15 * 1000 },
    { __LINE__, "header_timeout", NULL, 10 * 1000 },
    { __LINE__, "send_timeout", NULL, 30 * 1000 },
    { __LINE__, "max_request_header", NULL, 8 * 1024 },
    { __LINE__, "max_request_body", NULL, 1024 * 1024 },
    { __LINE__, "max_keepalive_requests", NULL, 10000 },
    { __LINE__, "shutdown_timeout", NULL, 30 * 1000 },
    { __LINE__, "redis_host", "127.0.0.1", 0 },
    { __LINE__, "redis_port", NULL, 6379 },
    { __LINE__, "redis_password", "", 0 },
    { __LINE__, "redis_db", NULL, 0 },
    { __LINE__, "redis_timeout", NULL, 1000 },
    { __LINE__, "redis_reconnect_min", NULL, 1000 },
    { __LINE__, "redis_reconnect_max", NULL, 32 * 1000 },
    { __LINE__, "session_ttl", NULL, 30 * 60 * 1000 },
    { __LINE__, "error_log", "stderr", 0 },
    { __LINE__, "log_level", NULL, LOG_NOTICE },
    { __LINE__, "access_log", "off", 0 },
    { __LINE__, "pid_file", "", 0 },
    { __LINE__, "daemon", NULL, 0 },
    { __LINE__, "tls_port", NULL, -1 },
    { __LINE__, "tls_port_file", "", 0 },
    { __LINE__, "tls_certificate", "", 0 },
    { __LINE__, "tls_certificate_key", "", 0 },
    { __LINE__, "tls_protocols", "TLSv1.2 TLSv1.3", 0 },
    { __LINE__, "tls_ciphers", "", 0 },
    { __LINE__, "redirect_to_https", NULL, 0 },
    { __LINE__, "hsts", NULL, 0 },
    { __LINE__, "cookie_secure", NULL, CONFIG_COOKIE_SECURE_AUTO },
    { __LINE__, "login_max_failures", NULL, 5 },
    { __LINE__, "login_failure_window", NULL, 15 * 60 * 1000 },
    { __LINE__, "security_headers", NULL, 1 },
    { __LINE__, "trusted_proxies", NULL, 0 },
    { __LINE__, "proxy_protocol", NULL, 0 },
    { __LINE__, "status_allow", NULL, 2 },
    { __LINE__, "redis_sentinels", NULL, 0 },
    { __LINE__, "redis_master_name", "mymaster", 0 },
    { __LINE__, "redis_wait_replicas", NULL, 0 },
};

static void
test_config_defaults(void **state)
{
    struct config cfg;

    (void) state;
    memset(&cfg, 0xa5, sizeof(cfg));    /* no field may keep garbage */
    config_defaults(&cfg);
    assert_int_equal(ARRAY_SIZE(default_cases), ARRAY_SIZE(fields));
    for (size_t i = 0; i < ARRAY_SIZE(default_cases); i++) {
        const struct default_case *c = &default_cases[i];
        const struct field *f = field_find(c->key);
        if (f->type == F_STR) {
            if (strcmp(field_str(&cfg, f), c->str) != 0)
                fail_msg("case at line %d: %s is \"%s\", want \"%s\"",
                         c->line, c->key, field_str(&cfg, f), c->str);
        } else if (field_num(&cfg, f) != c->num) {
            fail_msg("case at line %d: %s is %lld, want %lld", c->line,
                     c->key, (long long) field_num(&cfg, f),
                     (long long) c->num);
        }
    }
}

static void
test_config_defaults_pass_check(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";

    (void) state;
    config_defaults(&cfg);
    assert_int_equal(config_check(&cfg, err, sizeof(err)), RC_OK);
}

/* ---- config_set: every key, valid and invalid values ---- */

struct set_case {
    int         line;
    const char *key;
    const char *value;
    int         rc;
    const char *str;    /* expected F_STR value on RC_OK */
    int64_t     num;    /* expected numeric value on RC_OK */
};

#define OK_S(k, v, s)  { __LINE__, k, v, RC_OK, s, 0 }
#define OK_N(k, v, n)  { __LINE__, k, v, RC_OK, NULL, n }
#define BAD(k, v)      { __LINE__, k, v, RC_ERR, NULL, 0 }

static const struct set_case set_cases[] = {
    OK_S("listen_address", "0.0.0.0", "0.0.0.0"),
    OK_S("listen_address", "192.168.1.20", "192.168.1.20"),
    OK_S("listen_address", "::", "::"),
    OK_S("listen_address", "::1", "::1"),
    OK_S("listen_address", "2001:db8::1", "2001:db8::1"),
    OK_S("listen_address", "::ffff:192.0.2.1", "::ffff:192.0.2.1"),
    BAD("listen_address", "localhost"),
    BAD("listen_address", "www.example.com"),
    BAD("listen_address", "256.1.1.1"),
    BAD("listen_address", "127.0.0.1:80"),
    BAD("listen_address", "[::1]"),
    BAD("listen_address", ""),

    OK_N("port", "0", 0),
    OK_N("port", "8081", 8081),
    OK_N("port", "65535", 65535),
    BAD("port", "65536"),
    BAD("port", "-1"),
    BAD("port", "80a"),
    BAD("port", "0x50"),
    BAD("port", ""),

    OK_S("port_file", "/tmp/webserver.port", "/tmp/webserver.port"),
    OK_S("port_file", "", ""),

    OK_N("processes", "0", 0),
    OK_N("processes", "4", 4),
    BAD("processes", "-1"),
    BAD("processes", "four"),
    BAD("processes", "99999999999"),

    OK_N("max_connections", "1", 1),
    OK_N("max_connections", "20000", 20000),
    BAD("max_connections", "0"),
    BAD("max_connections", "-10"),
    BAD("max_connections", "99999999999"),
    BAD("max_connections", "10k"),

    OK_N("backlog", "511", 511),
    OK_N("backlog", "65535", 65535),
    BAD("backlog", "-1"),
    BAD("backlog", "99999999999"),
    BAD("backlog", "lots"),

    OK_S("root", "/srv/www", "/srv/www"),
    OK_S("root", "html", "html"),
    BAD("root", ""),

    OK_S("index", "home.htm", "home.htm"),
    BAD("index", ""),
    BAD("index", "sub/index.html"),

    OK_S("static_cache_control", "public, max-age=3600",
         "public, max-age=3600"),
    OK_S("static_cache_control", "no-cache", "no-cache"),
    OK_S("static_cache_control", "", ""),
    BAD("static_cache_control", "max-age=60\r\nX-Evil: 1"),
    BAD("static_cache_control", "max-age=60\x7f"),
    BAD("static_cache_control", "caf\xc3\xa9"),

    OK_N("gzip_static", "off", 0),
    OK_N("gzip_static", "on", 1),
    BAD("gzip_static", "gzip"),

    OK_N("keepalive_timeout", "75s", 75 * 1000),
    OK_N("keepalive_timeout", "500ms", 500),
    OK_N("keepalive_timeout", "0", 0),
    BAD("keepalive_timeout", "-1s"),
    BAD("keepalive_timeout", "15x"),
    BAD("keepalive_timeout", "99999999999999999999"),

    OK_N("header_timeout", "5s", 5000),
    OK_N("header_timeout", "2", 2000),
    BAD("header_timeout", "abc"),
    BAD("header_timeout", "-5"),

    OK_N("send_timeout", "1m", 60 * 1000),
    BAD("send_timeout", "1.5s"),
    BAD("send_timeout", "s"),

    OK_N("max_request_header", "16k", 16 * 1024),
    OK_N("max_request_header", "4096", 4096),
    BAD("max_request_header", "512"),
    BAD("max_request_header", "8q"),

    OK_N("max_request_body", "10m", 10 * 1024 * 1024),
    OK_N("max_request_body", "0", 0),
    BAD("max_request_body", "1x"),
    BAD("max_request_body", "99999999999999999999"),

    OK_N("max_keepalive_requests", "100", 100),
    OK_N("max_keepalive_requests", "1", 1),
    BAD("max_keepalive_requests", "-1"),
    BAD("max_keepalive_requests", "99999999999"),
    BAD("max_keepalive_requests", "many"),

    OK_N("shutdown_timeout", "2m", 2 * 60 * 1000),
    OK_N("shutdown_timeout", "0", 0),
    BAD("shutdown_timeout", "2 m"),
    BAD("shutdown_timeout", "-2m"),

    OK_S("redis_host", "redis.internal", "redis.internal"),
    OK_S("redis_host", "unix:/run/redis/redis.sock",
         "unix:/run/redis/redis.sock"),

    OK_N("redis_port", "6380", 6380),
    BAD("redis_port", "0"),
    BAD("redis_port", "65536"),
    BAD("redis_port", "port"),

    OK_S("redis_password", "s3cret", "s3cret"),
    OK_S("redis_password", "", ""),

    OK_N("redis_db", "0", 0),
    OK_N("redis_db", "15", 15),
    BAD("redis_db", "-1"),
    BAD("redis_db", "db1"),

    OK_N("redis_timeout", "250ms", 250),
    OK_N("redis_timeout", "3", 3000),
    BAD("redis_timeout", "x"),
    BAD("redis_timeout", "250us"),

    OK_N("redis_reconnect_min", "100ms", 100),
    BAD("redis_reconnect_min", "-"),

    OK_N("redis_reconnect_max", "1m", 60 * 1000),
    OK_N("redis_reconnect_max", "1h", 3600 * 1000),
    BAD("redis_reconnect_max", "1y"),

    OK_N("session_ttl", "2h", 2 * 3600 * 1000),
    OK_N("session_ttl", "45m", 45 * 60 * 1000),
    BAD("session_ttl", "abc"),
    BAD("session_ttl", "9223372036854775807h"),

    OK_S("error_log", "/var/log/webserver/error.log",
         "/var/log/webserver/error.log"),
    OK_S("error_log", "stderr", "stderr"),

    OK_N("log_level", "crit", LOG_CRIT),
    OK_N("log_level", "err", LOG_ERR),
    OK_N("log_level", "warn", LOG_WARN),
    OK_N("log_level", "notice", LOG_NOTICE),
    OK_N("log_level", "info", LOG_INFO),
    OK_N("log_level", "debug", LOG_DEBUG),
    BAD("log_level", "verbose"),
    BAD("log_level", "3"),
    BAD("log_level", ""),

    OK_S("access_log", "off", "off"),
    OK_S("access_log", "/var/log/webserver/access.log",
         "/var/log/webserver/access.log"),

    OK_S("pid_file", "/run/webserver.pid", "/run/webserver.pid"),

    OK_N("daemon", "on", 1),
    OK_N("daemon", "off", 0),
    BAD("daemon", "maybe"),
    BAD("daemon", ""),

    OK_N("tls_port", "off", -1),
    OK_N("tls_port", "0", 0),
    OK_N("tls_port", "8443", 8443),
    BAD("tls_port", "on"),
    BAD("tls_port", "65536"),
    BAD("tls_port", "-1"),
    OK_S("tls_port_file", "/tmp/tls.port", "/tmp/tls.port"),
    OK_S("tls_certificate", "/etc/ssl/cert.pem", "/etc/ssl/cert.pem"),
    OK_S("tls_certificate_key", "/etc/ssl/key.pem", "/etc/ssl/key.pem"),
    OK_S("tls_protocols", "TLSv1.3", "TLSv1.3"),
    OK_S("tls_protocols", "TLSv1.2 TLSv1.3", "TLSv1.2 TLSv1.3"),
    BAD("tls_protocols", "SSLv3"),
    BAD("tls_protocols", "TLSv1.2 TLSv1.1"),
    BAD("tls_protocols", " "),
    OK_S("tls_ciphers", "ECDHE+AESGCM", "ECDHE+AESGCM"),
    OK_N("redirect_to_https", "on", 1),
    BAD("redirect_to_https", "always"),
    OK_N("hsts", "off", 0),
    OK_N("hsts", "365d", 365LL * 24 * 3600 * 1000),
    BAD("hsts", "0"),
    BAD("hsts", "forever"),
    OK_N("cookie_secure", "auto", CONFIG_COOKIE_SECURE_AUTO),
    OK_N("cookie_secure", "on", CONFIG_COOKIE_SECURE_ON),
    OK_N("cookie_secure", "off", CONFIG_COOKIE_SECURE_OFF),
    BAD("cookie_secure", "yes"),
    OK_N("login_max_failures", "1", 1),
    OK_N("login_max_failures", "20", 20),
    BAD("login_max_failures", "0"),
    BAD("login_max_failures", "many"),
    OK_N("login_failure_window", "1m", 60 * 1000),
    BAD("login_failure_window", "500ms"),
    BAD("login_failure_window", "31d"),
    OK_N("security_headers", "off", 0),
    BAD("security_headers", "strict"),
    OK_N("trusted_proxies", "none", 0),
    OK_N("trusted_proxies", "10.0.0.0/8", 1),
    OK_N("trusted_proxies", "10.0.0.0/8 192.168.0.1 fd00::/8, ::1", 4),
    BAD("trusted_proxies", "10.0.0.0/33"),
    BAD("trusted_proxies", "::/129"),
    BAD("trusted_proxies", "10.0.0.0/"),
    BAD("trusted_proxies", "10.0.0.0/8x"),
    BAD("trusted_proxies", "proxy.example.com"),
    OK_N("proxy_protocol", "on", 1),
    BAD("proxy_protocol", "v2"),
    OK_N("status_allow", "none", 0),
    OK_N("status_allow", "0.0.0.0/0 ::/0", 2),
    BAD("status_allow", "127.0.0.1/32 everyone"),
    OK_N("redis_sentinels", "127.0.0.1:26379", 1),
    OK_N("redis_sentinels", "a.example:26379 [::1]:26380 10.0.0.1:1", 3),
    BAD("redis_sentinels", "127.0.0.1"),
    BAD("redis_sentinels", "127.0.0.1:0"),
    BAD("redis_sentinels", "127.0.0.1:65536"),
    BAD("redis_sentinels", "::1:26379"),
    BAD("redis_sentinels", ":26379"),
    BAD("redis_sentinels", "[::1:26379"),
    OK_S("redis_master_name", "cache", "cache"),
    BAD("redis_master_name", ""),
    OK_N("redis_wait_replicas", "2", 2),
    BAD("redis_wait_replicas", "-1"),
};

static void
check_set_case(const struct set_case *c)
{
    struct config cfg, before;
    const struct field *f = field_find(c->key);
    char err[CONFIG_ERR_MAX] = "";
    int rc;

    config_defaults(&cfg);
    if (f->type == F_BOOL && c->rc == RC_OK)   /* make "off" a change too */
        cfg.daemon = !c->num;
    before = cfg;
    rc = config_set(&cfg, c->key, c->value, err, sizeof(err));
    if (rc != c->rc)
        fail_msg("case at line %d: %s = \"%s\" returned %d, want %d (%s)",
                 c->line, c->key, c->value, rc, c->rc, err);
    if (c->rc != RC_OK) {
        /* a message that says which setting or value is wrong */
        CASE_CHECK(c, err[0] != '\0');
        CASE_CHECK(c, c->value[0] == '\0' || strstr(err, c->key) != NULL
                      || strstr(err, c->value) != NULL);
        CASE_CHECK(c, memcmp(&cfg, &before, sizeof(cfg)) == 0);
        return;
    }
    if (f->type == F_STR) {
        if (strcmp(field_str(&cfg, f), c->str) != 0)
            fail_msg("case at line %d: %s is \"%s\", want \"%s\"", c->line,
                     c->key, field_str(&cfg, f), c->str);
    } else if (field_num(&cfg, f) != c->num) {
        fail_msg("case at line %d: %s is %lld, want %lld", c->line, c->key,
                 (long long) field_num(&cfg, f), (long long) c->num);
    }
}

static void
test_config_set_every_key(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(set_cases); i++)
        check_set_case(&set_cases[i]);
}

/* The table above must cover every key: a valid value for each, and an
 * invalid one for each key that has a range or syntax (strings are covered
 * by test_config_set_string_too_long). */
static void
test_config_set_table_covers_every_key(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const struct field *f = &fields[i];
        bool ok = false, bad = false;
        for (size_t j = 0; j < ARRAY_SIZE(set_cases); j++) {
            if (strcmp(set_cases[j].key, f->key) != 0)
                continue;
            if (set_cases[j].rc == RC_OK)
                ok = true;
            else
                bad = true;
        }
        if (!ok)
            fail_msg("no valid-value case for \"%s\"", f->key);
        if (!bad && f->type != F_STR)
            fail_msg("no invalid-value case for \"%s\"", f->key);
    }
}

/* Every string key takes size-1 characters and refuses size. */
static void
test_config_set_string_too_long(void **state)
{
    char value[CONFIG_PATH_MAX + 2], err[CONFIG_ERR_MAX];

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const struct field *f = &fields[i];
        struct config cfg;

        if (f->type != F_STR || strcmp(f->key, "listen_address") == 0
            || strcmp(f->key, "tls_protocols") == 0)     /* a list */
            continue;
        assert_true(f->size < sizeof(value));
        memset(value, 'a', f->size);
        value[f->size] = '\0';
        config_defaults(&cfg);
        err[0] = '\0';
        if (config_set(&cfg, f->key, value, err, sizeof(err)) != RC_ERR)
            fail_msg("\"%s\" accepted %zu characters", f->key, f->size);
        assert_non_null(strstr(err, f->key));

        value[f->size - 1] = '\0';
        if (config_set(&cfg, f->key, value, err, sizeof(err)) != RC_OK)
            fail_msg("\"%s\" refused %zu characters: %s", f->key,
                     f->size - 1, err);
        assert_string_equal(field_str(&cfg, f), value);
    }
}

static void
test_config_set_unknown_key(void **state)
{
    static const char *keys[] = { "listen", "Port", "port ", "", "max_conns",
                                  "redis_reconnect" };
    struct config cfg, before;
    char err[CONFIG_ERR_MAX];

    (void) state;
    config_defaults(&cfg);
    before = cfg;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        err[0] = '\0';
        if (config_set(&cfg, keys[i], "1", err, sizeof(err)) != RC_ERR)
            fail_msg("unknown key \"%s\" accepted", keys[i]);
        assert_true(err[0] != '\0');
        assert_non_null(strstr(err, keys[i]));
        assert_memory_equal(&cfg, &before, sizeof(cfg));
    }
}

/* ---- Units ---- */

struct duration_case {
    int         line;
    const char *s;
    int         rc;
    int64_t     ms;
};

static const struct duration_case duration_cases[] = {
    { __LINE__, "500ms", RC_OK, 500 },
    { __LINE__, "15s", RC_OK, 15 * 1000 },
    { __LINE__, "30m", RC_OK, 30 * 60 * 1000 },
    { __LINE__, "1h", RC_OK, 3600 * 1000 },
    { __LINE__, "7", RC_OK, 7 * 1000 },         /* bare number: seconds */
    { __LINE__, "0", RC_OK, 0 },
    { __LINE__, "0ms", RC_OK, 0 },
    { __LINE__, "1000ms", RC_OK, 1000 },
    { __LINE__, "9223372036854775807ms", RC_OK, INT64_MAX },
    { __LINE__, "9223372036854775808ms", RC_ERR, 0 },
    { __LINE__, "9223372036854775807", RC_ERR, 0 },   /* * 1000 overflows */
    { __LINE__, "99999999999999999999", RC_ERR, 0 },
    { __LINE__, "99999999999999999999ms", RC_ERR, 0 },
    { __LINE__, "", RC_ERR, 0 },
    { __LINE__, "ms", RC_ERR, 0 },
    { __LINE__, "s", RC_ERR, 0 },
    { __LINE__, "-1", RC_ERR, 0 },
    { __LINE__, "+1s", RC_ERR, 0 },
    { __LINE__, "1.5s", RC_ERR, 0 },
    { __LINE__, "15 s", RC_ERR, 0 },
    { __LINE__, "15x", RC_ERR, 0 },
    { __LINE__, "15sec", RC_ERR, 0 },
    { __LINE__, "15s5", RC_ERR, 0 },
};

static void
test_config_parse_duration(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(duration_cases); i++) {
        const struct duration_case *c = &duration_cases[i];
        int64_t ms = -12345;
        int rc = config_parse_duration(c->s, &ms);
        if (rc != c->rc)
            fail_msg("case at line %d: \"%s\" returned %d, want %d",
                     c->line, c->s, rc, c->rc);
        if (rc == RC_OK && ms != c->ms)
            fail_msg("case at line %d: \"%s\" gave %lld ms, want %lld",
                     c->line, c->s, (long long) ms, (long long) c->ms);
    }
}

struct size_case {
    int         line;
    const char *s;
    int         rc;
    size_t      bytes;
};

static const struct size_case size_cases[] = {
    { __LINE__, "512", RC_OK, 512 },
    { __LINE__, "0", RC_OK, 0 },
    { __LINE__, "8k", RC_OK, 8 * 1024 },
    { __LINE__, "8K", RC_OK, 8 * 1024 },
    { __LINE__, "1m", RC_OK, 1024 * 1024 },
    { __LINE__, "1M", RC_OK, 1024 * 1024 },
    { __LINE__, "1g", RC_OK, (size_t) 1024 * 1024 * 1024 },
    { __LINE__, "1G", RC_OK, (size_t) 1024 * 1024 * 1024 },
    { __LINE__, "99999999999999999999", RC_ERR, 0 },  /* > UINT64_MAX */
    { __LINE__, "18446744073709551616", RC_ERR, 0 },  /* UINT64_MAX + 1 */
    { __LINE__, "17179869184g", RC_ERR, 0 },          /* 2^34 GiB = 2^64 */
    { __LINE__, "18014398509481984k", RC_ERR, 0 },    /* 2^54 KiB = 2^64 */
    { __LINE__, "", RC_ERR, 0 },
    { __LINE__, "k", RC_ERR, 0 },
    { __LINE__, "-1", RC_ERR, 0 },
    { __LINE__, "1.5k", RC_ERR, 0 },
    { __LINE__, "8 k", RC_ERR, 0 },
    { __LINE__, "8t", RC_ERR, 0 },
    { __LINE__, "8kk", RC_ERR, 0 },
    { __LINE__, "0x10", RC_ERR, 0 },
};

static void
test_config_parse_size(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(size_cases); i++) {
        const struct size_case *c = &size_cases[i];
        size_t bytes = 12345;
        int rc = config_parse_size(c->s, &bytes);
        if (rc != c->rc)
            fail_msg("case at line %d: \"%s\" returned %d, want %d",
                     c->line, c->s, rc, c->rc);
        if (rc == RC_OK && bytes != c->bytes)
            fail_msg("case at line %d: \"%s\" gave %zu bytes, want %zu",
                     c->line, c->s, bytes, c->bytes);
    }
}

/* ---- config_load on temp files ---- */

/* Write TEXT to a new temp file; its name goes to PATH (PATH_MAX bytes). */
static void
write_temp(const char *text, char *path)
{
    const char *dir = getenv("TMPDIR");
    size_t n = strlen(text);
    int fd;

    snprintf(path, PATH_MAX, "%s/test_config_XXXXXX",
             dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd < 0)
        fail_msg("mkstemp(%s): %s", path, strerror(errno));
    assert_int_equal(write(fd, text, n), (ssize_t) n);
    close(fd);
}

/* config_load() TEXT on top of the defaults; the message goes to ERR. The
 * temp file's name goes to PATH so messages can be compared against it. */
static int
load_text(const char *text, struct config *cfg, char *path, char *err,
          size_t errlen)
{
    int rc;

    write_temp(text, path);
    config_defaults(cfg);
    err[0] = '\0';
    rc = config_load(cfg, path, err, errlen);
    unlink(path);
    return rc;
}

static void
test_config_load_comments_and_blank_lines(void **state)
{
    static const char text[] =
        "# webserver.conf\n"
        "\n"
        "   # indented comment\n"
        "\t\n"
        "port = 9090 # trailing comment\n"
        "root = /srv/www\t# comment after a tab\n"
        "    keepalive_timeout   =   5s   \n"
        "max_request_header=16k\n"
        "log_level = debug # = not a setting\n";
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;

    (void) state;
    assert_int_equal(load_text(text, &cfg, path, err, sizeof(err)), RC_OK);
    assert_int_equal(cfg.port, 9090);
    assert_string_equal(cfg.root, "/srv/www");
    assert_int_equal(cfg.keepalive_timeout, 5000);
    assert_int_equal(cfg.max_request_header, 16 * 1024);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_string_equal(cfg.index, "index.html");   /* untouched */
}

static void
test_config_load_quoted_values(void **state)
{
    static const char text[] =
        "root = \"/srv/my site\"\n"
        "redis_password = \"pa#ss word\" # the # inside quotes stays\n"
        "index = \"start.html\"\n"
        "port = \"8081\"\n"
        "pid_file = \"\"\n";
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;

    (void) state;
    assert_int_equal(load_text(text, &cfg, path, err, sizeof(err)), RC_OK);
    assert_string_equal(cfg.root, "/srv/my site");
    assert_string_equal(cfg.redis_password, "pa#ss word");
    assert_string_equal(cfg.index, "start.html");
    assert_int_equal(cfg.port, 8081);
    assert_string_equal(cfg.pid_file, "");
}

static void
test_config_load_crlf_and_no_final_newline(void **state)
{
    static const char text[] =
        "port = 1234\r\n"
        "root = /srv\r\n"
        "\r\n"
        "daemon = on";
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;

    (void) state;
    assert_int_equal(load_text(text, &cfg, path, err, sizeof(err)), RC_OK);
    assert_int_equal(cfg.port, 1234);
    assert_string_equal(cfg.root, "/srv");
    assert_true(cfg.daemon);
}

static void
test_config_load_empty_file_keeps_config(void **state)
{
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg, defaults;

    (void) state;
    config_defaults(&defaults);
    assert_int_equal(load_text("", &cfg, path, err, sizeof(err)), RC_OK);
    /* only the record of where settings came from names the file */
    assert_string_equal(cfg.file, path);
    strcpy(defaults.file, path);
    assert_memory_equal(&cfg, &defaults, sizeof(cfg));
    assert_int_equal(load_text("# only\n\n# comments\n", &cfg, path, err,
                               sizeof(err)), RC_OK);
    strcpy(defaults.file, path);
    assert_memory_equal(&cfg, &defaults, sizeof(cfg));
}

/* config_where() names the line that set a key last; a later config_set()
 * (a command-line override) takes the line away again. */
static void
test_config_where_names_the_line(void **state)
{
    char path[PATH_MAX], err[CONFIG_ERR_MAX], where[CONFIG_PATH_MAX + 16];
    char want[PATH_MAX + 16];
    struct config cfg;

    (void) state;
    assert_int_equal(load_text("# a comment\nport = 1\n\naccess_log = /x\n"
                               "port = 2\n", &cfg, path, err, sizeof(err)),
                     RC_OK);
    snprintf(want, sizeof(want), "%s:4", path);
    assert_string_equal(config_where(&cfg, "access_log", where, sizeof(where)),
                        want);
    snprintf(want, sizeof(want), "%s:5", path);
    assert_string_equal(config_where(&cfg, "port", where, sizeof(where)), want);
    assert_string_equal(config_where(&cfg, "root", where, sizeof(where)), "root");
    assert_int_equal(config_set(&cfg, "port", "3", err, sizeof(err)), RC_OK);
    assert_string_equal(config_where(&cfg, "port", where, sizeof(where)), "port");
}

/* The keys added for robustness parse, with their defaults. */
static void
test_config_body_timeout_and_hash_queue(void **state)
{
    char err[CONFIG_ERR_MAX];
    struct config cfg;

    (void) state;
    config_defaults(&cfg);
    assert_int_equal(cfg.body_timeout, 15000);
    assert_int_equal(cfg.hash_queue_max, 64);
    assert_int_equal(config_set(&cfg, "body_timeout", "2s", err, sizeof(err)),
                     RC_OK);
    assert_int_equal(cfg.body_timeout, 2000);
    assert_int_equal(config_set(&cfg, "hash_queue_max", "0", err, sizeof(err)),
                     RC_ERR);
    assert_int_equal(config_set(&cfg, "hash_queue_max", "8", err, sizeof(err)),
                     RC_OK);
    assert_int_equal(cfg.hash_queue_max, 8);
}

/* The file is applied on top of CFG, and a later line wins. */
static void
test_config_load_layers_on_current(void **state)
{
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;

    (void) state;
    write_temp("port = 1\nport = 2\n", path);
    config_defaults(&cfg);
    strcpy(cfg.root, "/from/command/line");
    cfg.processes = 3;
    assert_int_equal(config_load(&cfg, path, err, sizeof(err)), RC_OK);
    unlink(path);
    assert_int_equal(cfg.port, 2);
    assert_string_equal(cfg.root, "/from/command/line");
    assert_int_equal(cfg.processes, 3);
}

struct load_err_case {
    int         line;
    const char *text;
    unsigned    errline;    /* line the message must name */
    const char *needle;     /* must appear in the message, or NULL */
};

static const struct load_err_case load_err_cases[] = {
    { __LINE__, "bogus = 1\n", 1, "bogus" },
    { __LINE__, "port = 1\n\nbogus = 1\n", 3, "bogus" },
    { __LINE__, "# a\n# b\n\n   # c\nlisten = 0.0.0.0\n", 5, "listen" },
    { __LINE__, "Port = 80\n", 1, NULL },
    { __LINE__, "port = 1\nport = 99999\n", 2, "port" },
    { __LINE__, "root = /x\nindex = a.html\nkeepalive_timeout = 5q\n", 3,
      "keepalive_timeout" },
    { __LINE__, "port = 80\r\nlisten_address = localhost\r\n", 2,
      "localhost" },
    { __LINE__, "log_level = loud # comment\n", 1, "log_level" },
    { __LINE__, "port = 1\nport 8080\n", 2, NULL },         /* missing '=' */
    { __LINE__, "port\n", 1, NULL },
    { __LINE__, "= 8080\n", 1, NULL },                      /* missing key */
    { __LINE__, "port = 1\nport =\n", 2, NULL },            /* missing value */
    { __LINE__, "port = # only a comment\n", 1, NULL },
    { __LINE__, "\n\nroot = \"/srv\n", 3, NULL },           /* unterminated */
    { __LINE__, "root = \"\"\n", 1, "root" },               /* empty root */
    { __LINE__, "port = 1\nport = 2\nport = 3\nport = 4\nport = 5\n"
                "port = 6\nport = 7\nport = 8\nport = 9\nport = ten\n",
      10, "port" },
};

/* "PATH:LINE: message" with a non-empty message. */
static void
check_error_prefix(int line, const char *err, const char *path,
                   unsigned errline)
{
    char prefix[PATH_MAX + 32];

    snprintf(prefix, sizeof(prefix), "%s:%u: ", path, errline);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("case at line %d: \"%s\" does not start with \"%s\"",
                 line, err, prefix);
    if (err[strlen(prefix)] == '\0')
        fail_msg("case at line %d: no message after \"%s\"", line, prefix);
}

static void
test_config_load_errors_name_the_line(void **state)
{
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(load_err_cases); i++) {
        const struct load_err_case *c = &load_err_cases[i];
        int rc = load_text(c->text, &cfg, path, err, sizeof(err));
        if (rc != RC_ERR)
            fail_msg("case at line %d: returned %d, want RC_ERR", c->line, rc);
        check_error_prefix(c->line, err, path, c->errline);
        if (c->needle != NULL && strstr(err, c->needle) == NULL)
            fail_msg("case at line %d: \"%s\" does not mention \"%s\"",
                     c->line, err, c->needle);
    }
}

static void
test_config_load_line_too_long(void **state)
{
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;
    size_t n = 10000;
    char *text = malloc(n + 32);

    (void) state;
    assert_non_null(text);
    strcpy(text, "port = 1\nroot = ");
    memset(text + strlen(text), 'a', n);
    strcpy(text + strlen("port = 1\nroot = ") + n, "\nport = 2\n");
    assert_int_equal(load_text(text, &cfg, path, err, sizeof(err)), RC_ERR);
    check_error_prefix(__LINE__, err, path, 2);
    free(text);
}

static void
test_config_load_missing_file(void **state)
{
    static const char path[] = "/nonexistent-dir-for-test/webserver.conf";
    char err[CONFIG_ERR_MAX] = "";
    struct config cfg;

    (void) state;
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, path, err, sizeof(err)), RC_ERR);
    check_error_prefix(__LINE__, err, path, 0);
}

/* The whole error string fits in CONFIG_ERR_MAX even with a long path. */
static void
test_config_load_error_with_long_path(void **state)
{
    char path[CONFIG_PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;
    size_t n;

    (void) state;
    strcpy(path, "/nonexistent-dir-for-test/");
    n = strlen(path);
    memset(path + n, 'x', sizeof(path) - n - 1);
    path[sizeof(path) - 1] = '\0';
    config_defaults(&cfg);
    assert_int_equal(config_load(&cfg, path, err, sizeof(err)), RC_ERR);
    check_error_prefix(__LINE__, err, path, 0);
}

/* ---- tls_protocols ---- */

static void
test_config_tls_protocol_on(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    (void) state;
    config_defaults(&cfg);
    assert_true(config_tls_protocol_on(&cfg, "TLSv1.2"));
    assert_true(config_tls_protocol_on(&cfg, "TLSv1.3"));
    assert_int_equal(config_set(&cfg, "tls_protocols", "TLSv1.3", err,
                                sizeof(err)), RC_OK);
    assert_false(config_tls_protocol_on(&cfg, "TLSv1.2"));
    assert_true(config_tls_protocol_on(&cfg, "TLSv1.3"));
}

/* ---- config_check ---- */

static void
test_config_check_reconnect_order(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX];

    (void) state;
    config_defaults(&cfg);
    cfg.redis_reconnect_min = 5000;
    cfg.redis_reconnect_max = 4999;
    err[0] = '\0';
    assert_int_equal(config_check(&cfg, err, sizeof(err)), RC_ERR);
    assert_non_null(strstr(err, "redis_reconnect_min"));

    cfg.redis_reconnect_max = 5000;     /* equal is fine: a fixed delay */
    assert_int_equal(config_check(&cfg, err, sizeof(err)), RC_OK);
}

/* The same mistake made through a file: load succeeds line by line, the
 * cross-field check catches it. */
static void
test_config_check_after_load(void **state)
{
    static const char text[] =
        "redis_reconnect_min = 10s\n"
        "redis_reconnect_max = 2s\n";
    char path[PATH_MAX], err[CONFIG_ERR_MAX];
    struct config cfg;

    (void) state;
    assert_int_equal(load_text(text, &cfg, path, err, sizeof(err)), RC_OK);
    assert_int_equal(config_check(&cfg, err, sizeof(err)), RC_ERR);
}

/* ---- Shipped configuration files ---- */

struct shipped_case {
    int         line;
    const char *rel;        /* under SOURCE_DIR */
    bool        defaults;   /* documents the defaults: must load to them */
};

static const struct shipped_case shipped_cases[] = {
    { __LINE__, "etc/webserver.conf", true },
};

/* Name every field in which A and B differ. */
static void
check_same_config(int line, const struct config *a, const struct config *b)
{
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        const struct field *f = &fields[i];
        if (memcmp((const char *) a + f->off, (const char *) b + f->off,
                   f->size) != 0)
            fail_msg("case at line %d: \"%s\" differs from its default",
                     line, f->key);
    }
}

static void
test_config_shipped_files_load(void **state)
{
    size_t checked = 0;

    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(shipped_cases); i++) {
        const struct shipped_case *c = &shipped_cases[i];
        char path[PATH_MAX], err[CONFIG_ERR_MAX] = "";
        struct config cfg;

        snprintf(path, sizeof(path), "%s/%s", SOURCE_DIR, c->rel);
        if (access(path, F_OK) != 0) {
            print_message("[   INFO   ] %s does not exist yet\n", path);
            continue;
        }
        config_defaults(&cfg);
        if (config_load(&cfg, path, err, sizeof(err)) != RC_OK)
            fail_msg("case at line %d: %s", c->line, err);
        if (config_check(&cfg, err, sizeof(err)) != RC_OK)
            fail_msg("case at line %d: %s: %s", c->line, path, err);
        if (c->defaults) {
            struct config defaults;
            config_defaults(&defaults);
            check_same_config(c->line, &cfg, &defaults);
        }
        checked++;
    }
    if (checked == 0)
        skip();
}

/* ---- Lists: CIDR blocks and host:port pairs ---- */

struct cidr_case {
    int         line;
    const char *list;
    const char *addr;
    bool        in;
};

static const struct cidr_case cidr_cases[] = {
    { __LINE__, "127.0.0.1/32 ::1/128", "127.0.0.1", true },
    { __LINE__, "127.0.0.1/32 ::1/128", "127.0.0.2", false },
    { __LINE__, "127.0.0.1/32 ::1/128", "::1", true },
    { __LINE__, "127.0.0.1/32 ::1/128", "::2", false },
    { __LINE__, "127.0.0.1/32 ::1/128", "::ffff:127.0.0.1", true },
    { __LINE__, "127.0.0.1/32 ::1/128", "-", false },
    { __LINE__, "127.0.0.1/32 ::1/128", "", false },
    { __LINE__, "10.0.0.0/8", "10.255.1.2", true },
    { __LINE__, "10.0.0.0/8", "11.0.0.1", false },
    { __LINE__, "10.1.2.3/8", "10.9.9.9", true },      /* host bits ignored */
    { __LINE__, "192.168.0.0/23", "192.168.1.255", true },
    { __LINE__, "192.168.0.0/23", "192.168.2.0", false },
    { __LINE__, "172.16.0.0/12", "172.31.255.255", true },
    { __LINE__, "172.16.0.0/12", "172.32.0.0", false },
    { __LINE__, "0.0.0.0/0", "203.0.113.9", true },
    { __LINE__, "0.0.0.0/0", "2001:db8::1", false },   /* families apart */
    { __LINE__, "::/0", "2001:db8::1", true },
    { __LINE__, "2001:db8::/32", "2001:db8:ffff::1", true },
    { __LINE__, "2001:db8::/33", "2001:db8:8000::1", false },
    { __LINE__, "fe80::1", "fe80::1", true },
    { __LINE__, "fe80::1", "fe80::2", false },
    { __LINE__, "none", "127.0.0.1", false },
};

static void
test_config_cidr_match(void **state)
{
    (void) state;
    for (size_t i = 0; i < ARRAY_SIZE(cidr_cases); i++) {
        const struct cidr_case *c = &cidr_cases[i];
        struct config cfg;
        char err[CONFIG_ERR_MAX] = "";

        config_defaults(&cfg);
        if (config_set(&cfg, "trusted_proxies", c->list, err, sizeof(err)) != RC_OK)
            fail_msg("case at line %d: %s", c->line, err);
        if (net_cidr_match(cfg.trusted_proxies.v, cfg.trusted_proxies.n,
                           c->addr) != c->in)
            fail_msg("case at line %d: %s in \"%s\" is not %d", c->line,
                     c->addr, c->list, c->in);
    }
}

static void
test_config_sentinel_list(void **state)
{
    struct config cfg;
    char err[CONFIG_ERR_MAX] = "";

    (void) state;
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "redis_sentinels",
                                "s1.example:26379,[2001:db8::7]:26380  10.0.0.1:1",
                                err, sizeof(err)), RC_OK);
    assert_int_equal(cfg.redis_sentinels.n, 3);
    assert_string_equal(cfg.redis_sentinels.v[0].host, "s1.example");
    assert_int_equal(cfg.redis_sentinels.v[0].port, 26379);
    assert_string_equal(cfg.redis_sentinels.v[1].host, "2001:db8::7");
    assert_int_equal(cfg.redis_sentinels.v[1].port, 26380);
    assert_string_equal(cfg.redis_sentinels.v[2].host, "10.0.0.1");
    assert_int_equal(cfg.redis_sentinels.v[2].port, 1);
    /* a bad entry leaves the old list */
    assert_int_equal(config_set(&cfg, "redis_sentinels", "a:1 b", err,
                                sizeof(err)), RC_ERR);
    assert_int_equal(cfg.redis_sentinels.n, 3);
    assert_non_null(strstr(err, "\"b\""));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_defaults_pass_check),
        cmocka_unit_test(test_config_set_every_key),
        cmocka_unit_test(test_config_set_table_covers_every_key),
        cmocka_unit_test(test_config_set_string_too_long),
        cmocka_unit_test(test_config_set_unknown_key),
        cmocka_unit_test(test_config_parse_duration),
        cmocka_unit_test(test_config_parse_size),
        cmocka_unit_test(test_config_load_comments_and_blank_lines),
        cmocka_unit_test(test_config_load_quoted_values),
        cmocka_unit_test(test_config_load_crlf_and_no_final_newline),
        cmocka_unit_test(test_config_load_empty_file_keeps_config),
        cmocka_unit_test(test_config_where_names_the_line),
        cmocka_unit_test(test_config_body_timeout_and_hash_queue),
        cmocka_unit_test(test_config_load_layers_on_current),
        cmocka_unit_test(test_config_load_errors_name_the_line),
        cmocka_unit_test(test_config_load_line_too_long),
        cmocka_unit_test(test_config_load_missing_file),
        cmocka_unit_test(test_config_load_error_with_long_path),
        cmocka_unit_test(test_config_tls_protocol_on),
        cmocka_unit_test(test_config_check_reconnect_order),
        cmocka_unit_test(test_config_check_after_load),
        cmocka_unit_test(test_config_shipped_files_load),
        cmocka_unit_test(test_config_cidr_match),
        cmocka_unit_test(test_config_sentinel_list),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
