/* proxy_client.c - PROXY protocol and trusted-proxy test helpers (see
 * proxy_client.h).
 * SPDX-License-Identifier: MIT */
#include "proxy_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int
pc_connect(struct http_conn *c, const char *src, int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct timeval tv = { WS_IO_TIMEOUT_S, 0 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->port = port;
    if (fd == -1)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (src != NULL) {
        inet_pton(AF_INET, src, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1) {
            fprintf(stderr, "proxy_client: bind %s: %s\n", src,
                    strerror(errno));
            close(fd);
            return -1;
        }
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t) port);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1) {
        fprintf(stderr, "proxy_client: connect to 127.0.0.1:%d from %s: %s\n",
                port, src != NULL ? src : "any", strerror(errno));
        close(fd);
        return -1;
    }
    c->fd = fd;
    return 0;
}

size_t
pc_proxy_v1(char *out, size_t cap, const char *src, int sport, int dport)
{
    bool v6 = strchr(src, ':') != NULL;
    int n = snprintf(out, cap, "PROXY %s %s %s %d %d\r\n", v6 ? "TCP6" : "TCP4",
                     src, v6 ? "::1" : "127.0.0.1", sport, dport);

    return n > 0 ? (size_t) n : 0;
}

size_t
pc_proxy_v2(uint8_t *out, const char *src, int sport, int dport)
{
    static const uint8_t sig[12] = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
    };
    size_t alen, n = 16;

    memcpy(out, sig, sizeof(sig));
    if (src == NULL) {
        out[12] = 0x20;             /* v2, LOCAL */
        out[13] = 0x00;
        out[14] = out[15] = 0;
        return n;
    }
    out[12] = 0x21;                 /* v2, PROXY */
    if (strchr(src, ':') != NULL) {
        out[13] = 0x21;             /* TCP over IPv6 */
        alen = 16;
        inet_pton(AF_INET6, src, out + n);
        inet_pton(AF_INET6, "::1", out + n + alen);
    } else {
        out[13] = 0x11;             /* TCP over IPv4 */
        alen = 4;
        inet_pton(AF_INET, src, out + n);
        inet_pton(AF_INET, "127.0.0.1", out + n + alen);
    }
    n += 2 * alen;
    out[n++] = (uint8_t) (sport >> 8);
    out[n++] = (uint8_t) sport;
    out[n++] = (uint8_t) (dport >> 8);
    out[n++] = (uint8_t) dport;
    out[14] = 0;
    out[15] = (uint8_t) (n - 16);
    return n;
}

int
pc_post_form(struct http_conn *c, const char *path, const char *body,
             const char *cookie, const char *extra, struct http_resp *r)
{
    char head[1024];
    int rc;

    snprintf(head, sizeof(head),
             "Content-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n%s%s%s%s", strlen(body),
             cookie != NULL ? "Cookie: " : "", cookie != NULL ? cookie : "",
             cookie != NULL ? "\r\n" : "", extra != NULL ? extra : "");
    memset(r, 0, sizeof(*r));
    rc = http_send_request(c, "POST", path, head);
    if (rc == HTTP_OK)
        rc = http_send(c, body, strlen(body));
    if (rc == HTTP_OK)
        rc = http_read_response(c, false, r);
    return rc;
}

int
pc_cookie(const struct http_resp *r, char *out, size_t cap)
{
    const char *ck = http_header(r, "Set-Cookie");
    size_t n;

    out[0] = '\0';
    if (ck == NULL || strncmp(ck, "sid=", 4) != 0)
        return -1;
    n = strcspn(ck, ";");
    if (n >= cap)
        return -1;
    memcpy(out, ck, n);
    out[n] = '\0';
    return 0;
}

/* A line of TEXT from client ADDR with NEEDLE (ADDR NULL: any client but
 * NOT_ADDR). */
static bool
pc_log_scan(const char *text, const char *addr, const char *not_addr,
            const char *needle)
{
    const char *line = text;

    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t) (end - line) : strlen(line);
        const char *sp = memchr(line, ' ', len);
        size_t alen = sp != NULL ? (size_t) (sp - line) : 0;
        char copy[4096];

        if (len < sizeof(copy)) {
            memcpy(copy, line, len);
            copy[len] = '\0';
            if (strstr(copy, needle) != NULL) {
                if (addr != NULL && alen == strlen(addr)
                    && memcmp(line, addr, alen) == 0)
                    return true;
                if (not_addr != NULL && !(alen == strlen(not_addr)
                                          && memcmp(line, not_addr, alen) == 0))
                    return true;
            }
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return false;
}

bool
pc_log_wait(const char *log, const char *addr, const char *needle,
            int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;

    for (;;) {
        char *text = ws_read_file(log, NULL);
        bool found = text != NULL && pc_log_scan(text, addr, NULL, needle);

        free(text);
        if (found)
            return true;
        if (ws_now_ms() >= deadline) {
            if (timeout_ms > 0)
                fprintf(stderr, "proxy_client: no line from %s with '%s' "
                        "in %s\n", addr, needle, log);
            return false;
        }
        ws_sleep_ms(20);
    }
}

bool
pc_log_other_client(const char *log, const char *addr, const char *needle)
{
    char *text = ws_read_file(log, NULL);
    bool found = text != NULL && pc_log_scan(text, NULL, addr, needle);

    free(text);
    return found;
}

/* /proc/net/tcp or tcp6: rx_queue of the socket with local port LPORT
 * and remote port RPORT, or -1. */
static long
pc_rx_queue(const char *path, int lport, int rport)
{
    FILE *f = fopen(path, "r");
    char line[512];
    long found = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        char local[64], remote[64];
        unsigned long tx, rx;
        unsigned st;
        const char *lp, *rp;

        if (sscanf(line, " %*d: %63s %63s %x %lx:%lx", local, remote, &st,
                   &tx, &rx) != 5)
            continue;
        lp = strrchr(local, ':');
        rp = strrchr(remote, ':');
        if (lp == NULL || rp == NULL)
            continue;
        if ((int) strtol(lp + 1, NULL, 16) == lport
            && (int) strtol(rp + 1, NULL, 16) == rport) {
            found = (long) rx;
            break;
        }
    }
    fclose(f);
    return found;
}

long
pc_server_unread(int server_port, int client_port)
{
    long n = pc_rx_queue("/proc/net/tcp", server_port, client_port);

    return n >= 0 ? n : pc_rx_queue("/proc/net/tcp6", server_port,
                                    client_port);
}

int
pc_local_port(const struct http_conn *c)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    if (getsockname(c->fd, (struct sockaddr *) &sa, &len) == -1)
        return -1;
    return ntohs(sa.sin_port);
}

int
pc_wait_read(const struct http_conn *c, int server_port, int timeout_ms)
{
    int64_t deadline = ws_now_ms() + timeout_ms;
    int lport = pc_local_port(c);

    for (;;) {
        if (pc_server_unread(server_port, lport) == 0)
            return 0;
        if (ws_now_ms() >= deadline) {
            fprintf(stderr, "proxy_client: the server did not read what "
                    "port %d sent within %d ms\n", lport, timeout_ms);
            return -1;
        }
        ws_sleep_ms(5);
    }
}
