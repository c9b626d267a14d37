// The local gateway layer: HTTP/1.1 server, routing, handlers and the on-disk store.
import BatchAPI
