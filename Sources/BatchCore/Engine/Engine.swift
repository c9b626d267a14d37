// The job engine layer: runs batch inference jobs against an inference backend.
import BatchAPI
