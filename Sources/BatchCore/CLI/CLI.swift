// The command-line layer: command table, parser, help, output and configuration.
import BatchAPI
