// The gateway client layer: talks to Fireworks or the local gateway over HTTP.
import BatchAPI
