// The entry point: parse, dispatch, map the error to an exit status.
import BatchCLI
