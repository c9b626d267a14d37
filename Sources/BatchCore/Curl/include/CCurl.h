// CCurl: libcurl loaded with dlopen on first use, so the batchctl binary links no TLS stack and starts fast.
// Only BatchHTTP (Sources/BatchCore/HTTP/Client/CurlTransport.swift) calls it. Errors come back as a kind,
// never as text to be matched.
#ifndef CCURL_H
#define CCURL_H

#include <stddef.h>

/* What went wrong, sorted on the C side from libcurl's CURLcode. */
typedef enum ccurl_error_kind {
    CCURL_OK = 0,
    CCURL_UNAVAILABLE,      /* libcurl could not be loaded */
    CCURL_RESOLVE,          /* host (or proxy) name not resolved: nothing was sent */
    CCURL_CONNECT,          /* no connection: nothing was sent */
    CCURL_TIMEOUT,          /* a stall or the total deadline; `connected` tells whether it was while connecting */
    CCURL_TLS_CERTIFICATE,  /* the peer's certificate was not trusted, or the CA bundle is unreadable */
    CCURL_TLS,              /* the TLS handshake failed otherwise */
    CCURL_SEND,             /* the connection failed while sending */
    CCURL_RECEIVE,          /* the connection failed or closed while receiving */
    CCURL_TOO_LARGE,        /* the answer's body passed max_body */
    CCURL_SINK_WRITE,       /* writing the answer to sink_fd failed (errno in sink_errno) */
    CCURL_UPLOAD_READ,      /* reading a file of the request body failed */
    CCURL_MALFORMED,        /* bad URL or unsupported protocol */
    CCURL_OTHER
} ccurl_error_kind;

/* One piece of a request body: `length` bytes at `bytes`, or the first `length` bytes of the file at `path`. */
typedef struct ccurl_part {
    const void *bytes;
    const char *path;
    long long length;
} ccurl_part;

typedef void (*ccurl_progress_fn)(void *context, long long done, long long total);

typedef struct ccurl_request {
    const char *method;
    const char *url;
    const char *const *headers;   /* "Name: value" lines */
    int header_count;
    const ccurl_part *parts;      /* the request body, in order; NULL/0 for none */
    int part_count;
    int has_body;                 /* send a body (possibly empty) */
    int sink_fd;                  /* a 2xx body goes here when >= 0, otherwise into the result */
    size_t max_body;              /* cap on a body kept in memory */
    double connect_timeout;       /* seconds */
    double stall_timeout;         /* seconds without a byte moving */
    double total_timeout;         /* seconds for the whole exchange; 0 = none */
    const char *ca_file;          /* CA bundle, or NULL for libcurl's default */
    const char *ca_path;          /* CA directory, or NULL */
    const char *proxy;            /* proxy URL; NULL or "" for a direct connection */
    const char *user_agent;
    ccurl_progress_fn progress;
    void *context;
} ccurl_request;

typedef struct ccurl_result {
    long status;              /* HTTP status; 0 when there was no answer */
    ccurl_error_kind kind;
    int curl_code;            /* libcurl's CURLcode, for the message */
    int connected;            /* 1 once a connection was made (the request may have been sent) */
    int sink_errno;
    char *headers;            /* raw header lines of every answer block (malloc'ed, NUL-terminated) */
    size_t headers_len;
    char *body;               /* the answer's body when it did not go to the sink (malloc'ed) */
    size_t body_len;
    long long received;       /* bytes written to the sink */
    char error[320];          /* libcurl's own words, for the user */
} ccurl_result;

/* A reusable handle: it keeps libcurl's connection cache, so requests through one session reuse connections. */
typedef struct ccurl_session ccurl_session;

/* 1 when libcurl could be loaded; otherwise 0 and `why` says what is missing. */
int ccurl_available(char *why, size_t why_len);

ccurl_session *ccurl_session_new(void);
void ccurl_session_free(ccurl_session *session);

/* One request. Returns 0 when an HTTP answer arrived (any status), -1 otherwise (out->kind says why). */
int ccurl_perform(ccurl_session *session, const ccurl_request *request, ccurl_result *out);

void ccurl_result_free(ccurl_result *result);

#endif
