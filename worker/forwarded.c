/* forwarded.c - the client behind trusted proxies (see forwarded.h).
 * One pass from left to right over every element of every
 * X-Forwarded-For line gives what a walk from the right would: the result
 * is fixed by the rightmost element that is untrusted (it is the client)
 * or malformed (then the good one after it, or none), and when there is no
 * such element, by the first one. Only requests from a trusted peer get
 * here, and the head is scanned again only when the header has more than
 * one line.
 * SPDX-License-Identifier: MIT */
#include "forwarded.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "defs.h"

#define FORWARDED_NAME      "X-Forwarded-For"
#define FORWARDED_NAME_LEN  (sizeof(FORWARDED_NAME) - 1)

struct forwarded_walk {
    const struct net_cidr *trusted;
    int                    n;
    bool                   pending;  /* the next good element decides */
    bool                   found;
    uint8_t                family;
    uint8_t                addr[16];
};

/* One list element S[0, LEN), already trimmed and not empty. */
static void
forwarded_element(struct forwarded_walk *w, const char *s, size_t len)
{
    char text[FORWARDED_ADDR_MAX];
    uint8_t addr[16];
    int family;

    if (len >= sizeof(text))
        goto malformed;
    memcpy(text, s, len);
    text[len] = '\0';
    if (inet_pton(AF_INET, text, addr) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, text, addr) == 1)
        family = AF_INET6;
    else
        goto malformed;
    /* untrusted: the client so far; trusted: only as the first good
     * address (after a stop, or of all), which a later untrusted one
     * replaces */
    if (!w->pending && net_cidr_match(w->trusted, w->n, text))
        return;
    w->found = true;
    w->pending = false;
    w->family = (uint8_t) family;
    memcpy(w->addr, addr, sizeof(addr));
    return;

malformed:
    w->found = false;
    w->pending = true;
}

/* Every element of one header value V[0, LEN). */
static void
forwarded_value(struct forwarded_walk *w, const char *v, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t start, end;
        while (i < len && (v[i] == ' ' || v[i] == '\t'))
            i++;
        start = i;
        while (i < len && v[i] != ',')
            i++;
        end = i;
        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
            end--;
        if (end > start)
            forwarded_element(w, v + start, end - start);
        i++;                /* past the comma */
    }
}

/* HEAD[POS, END): the header lines after the first X-Forwarded-For one;
 * the values of the other X-Forwarded-For lines, in order. The parser
 * accepted the head, so every line is "name:value" or the empty one. */
static void
forwarded_more_lines(struct forwarded_walk *w, const char *head, size_t pos,
                     size_t end)
{
    while (pos < end) {
        const char *nl = memchr(head + pos, '\n', end - pos);
        size_t next = nl != NULL ? (size_t) (nl - head) + 1 : end;
        size_t line_end = next - (nl != NULL ? 1 : 0);
        const char *l = head + pos;

        if (line_end > pos && head[line_end - 1] == '\r')
            line_end--;
        if (line_end == pos)
            return;         /* the empty line: end of the head */
        if (line_end - pos > FORWARDED_NAME_LEN
            && l[FORWARDED_NAME_LEN] == ':'
            && strncasecmp(l, FORWARDED_NAME, FORWARDED_NAME_LEN) == 0) {
            size_t vs = pos + FORWARDED_NAME_LEN + 1;
            forwarded_value(w, head + vs, line_end - vs);
        }
        pos = next;
    }
}

bool
forwarded_client(const char *head, const struct http_request *r,
                 const struct net_cidr *trusted, int n, char *out,
                 size_t cap)
{
    struct forwarded_walk w;
    struct http_slice first = r->x_forwarded_for;

    if (r->xff_lines == 0 || cap < FORWARDED_ADDR_MAX)
        return false;
    memset(&w, 0, sizeof(w));
    w.trusted = trusted;
    w.n = n;
    w.pending = true;
    forwarded_value(&w, head + first.off, first.len);
    if (r->xff_lines > 1) {
        const char *nl = memchr(head + first.off + first.len, '\n',
                                r->head_len - first.off - first.len);
        if (nl != NULL)
            forwarded_more_lines(&w, head, (size_t) (nl - head) + 1,
                                 r->head_len);
    }
    if (!w.found)
        return false;
    return inet_ntop(w.family, w.addr, out, (socklen_t) cap) != NULL;
}
