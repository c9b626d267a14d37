// The wire layer: the Fireworks Gateway types and their protojson coding rules.
import BatchJSONL
