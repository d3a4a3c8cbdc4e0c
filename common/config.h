/* config.h - etc/webserver.conf parser.
 * "key = value" lines, '#' comments, durations (500ms, 15s, 30m, 1h; a bare
 * number is seconds) and sizes (512, 8k, 1m, 1g). Unknown keys and bad values
 * are errors reported as "FILE:LINE: message". A struct config is a plain
 * value (no pointers): copy it freely, nothing to free. The parser never
 * exits and never logs; callers decide.
 * SPDX-License-Identifier: MIT */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define CONFIG_PATH_MAX 1024
#define CONFIG_ERR_MAX  (CONFIG_PATH_MAX + 256)
/* room for the line numbers of this many keys (see key_line) */
#define CONFIG_KEYS_MAX 64
/* OpenSSL's ticket key block: name, HMAC secret, AES key */
#define CONFIG_TICKET_KEYS_LEN 80
/* entries in a CIDR list (trusted_proxies, status_allow) */
#define CONFIG_CIDRS_MAX 32
/* redis_sentinels entries */
#define CONFIG_SENTINELS_MAX 8
#define CONFIG_HOST_MAX 256

/* A list of address blocks (trusted_proxies, status_allow). */
struct config_cidrs {
    int             n;
    struct net_cidr v[CONFIG_CIDRS_MAX];
};

/* "host:port host:port ..." (redis_sentinels); "[v6]:port" for IPv6. */
struct config_hostports {
    int n;
    struct {
        char host[CONFIG_HOST_MAX];
        int  port;
    } v[CONFIG_SENTINELS_MAX];
};

enum config_cookie_secure {
    CONFIG_COOKIE_SECURE_AUTO = 0,  /* Secure on TLS connections */
    CONFIG_COOKIE_SECURE_ON,
    CONFIG_COOKIE_SECURE_OFF
};

struct config {
    char     listen_address[64];
    int      port;                      /* 0: ephemeral */
    char     port_file[CONFIG_PATH_MAX];
    int      processes;                 /* 0: one per CPU */
    int      max_connections;           /* per worker */
    int      backlog;
    char     root[CONFIG_PATH_MAX];
    char     index[256];
    char     static_cache_control[256]; /* "" = no Cache-Control */
    bool     gzip_static;               /* serve F.br / F.gz beside F */

    /* durations, in milliseconds */
    int64_t  keepalive_timeout;
    int64_t  header_timeout;
    int64_t  send_timeout;
    int64_t  shutdown_timeout;
    int64_t  body_timeout;              /* whole request body */

    size_t   max_request_header;
    size_t   max_request_body;
    int      max_keepalive_requests;

    char     redis_host[CONFIG_PATH_MAX];   /* host, or "unix:/path" */
    int      redis_port;
    char     redis_password[256];           /* "" = no AUTH */
    int      redis_db;
    int64_t  redis_timeout;                 /* ms */
    int64_t  redis_reconnect_min;           /* ms */
    int64_t  redis_reconnect_max;           /* ms */
    int64_t  session_ttl;                   /* ms */
    int      hash_queue_max;                /* password hashes waiting, per worker */

    char     error_log[CONFIG_PATH_MAX];    /* path or "stderr" */
    int      log_level;                     /* enum log_level */
    char     access_log[CONFIG_PATH_MAX];   /* path or "off" */
    char     pid_file[CONFIG_PATH_MAX];     /* "" = none */
    bool     daemon;

    /* HTTPS (DESIGN.md "HTTPS") */
    int      tls_port;                      /* -1: off; 0: ephemeral */
    char     tls_port_file[CONFIG_PATH_MAX];
    char     tls_certificate[CONFIG_PATH_MAX];
    char     tls_certificate_key[CONFIG_PATH_MAX];
    char     tls_protocols[64];             /* "TLSv1.2 TLSv1.3" */
    char     tls_ciphers[512];              /* "" = OpenSSL's default */
    bool     redirect_to_https;
    int64_t  hsts;                          /* ms; 0: off */
    int      cookie_secure;                 /* enum config_cookie_secure */

    /* Security (DESIGN.md "Security") */
    int      login_max_failures;            /* per client, and per client+user */
    int64_t  login_failure_window;          /* ms */
    bool     security_headers;
    struct config_cidrs trusted_proxies;    /* whose X-Forwarded-* we believe */
    bool     proxy_protocol;                /* PROXY v1/v2 header on the plain port */
    struct config_cidrs status_allow;       /* who may read /metrics, /status */

    /* Scale-out (DESIGN.md "Scale-out") */
    struct config_hostports redis_sentinels;    /* n == 0: redis_host */
    char     redis_master_name[128];
    int      redis_wait_replicas;

    /* Not keys: set by the master before it forks workers. The bound TLS
     * port (tls_port 0 binds an ephemeral one; redirects name it), and
     * the session ticket keys every worker of a generation shares, so a
     * client resumes whichever worker it lands on. */
    int      tls_bound_port;
    uint8_t  tls_ticket_keys[CONFIG_TICKET_KEYS_LEN];

    /* where each setting came from, for messages about values that parse
     * but do not work (a log file that cannot be opened): the file given
     * to config_load() and, per key, the line that set it last (0: not
     * set by the file). Read through config_where(). */
    char     file[CONFIG_PATH_MAX];
    uint32_t key_line[CONFIG_KEYS_MAX];
};

/* Fill CFG with the built-in defaults (the table in README.md). */
void config_defaults(struct config *cfg);

/* Apply one "key = value" setting. Returns RC_OK, or RC_ERR with a message
 * (without file:line) in ERR. */
int config_set(struct config *cfg, const char *key, const char *value,
               char *err, size_t errlen);

/* Read PATH on top of the current contents of CFG (call config_defaults()
 * first). Returns RC_OK, or RC_ERR with "PATH:LINE: message" in ERR; CFG may
 * be partly changed on error, so parse into a scratch copy. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Cross-field checks after everything is applied (reconnect_min <= max,
 * ...). Returns RC_OK or RC_ERR with a message in ERR. */
int config_check(const struct config *cfg, char *err, size_t errlen);

/* "FILE:LINE" where KEY was set in the file, or "KEY" when it was not (a
 * default or a command-line override), into OUT. Returns OUT. */
const char *config_where(const struct config *cfg, const char *key,
                         char *out, size_t outlen);

/* Does "TLSv1.2 TLSv1.3" allow VERSION ("TLSv1.2")? For tls_protocols. */
bool config_tls_protocol_on(const struct config *cfg, const char *version);

/* "15s" -> 15000. Returns RC_OK or RC_ERR. */
int config_parse_duration(const char *s, int64_t *ms);

/* "8k" -> 8192. Returns RC_OK or RC_ERR. */
int config_parse_size(const char *s, size_t *bytes);

#endif
