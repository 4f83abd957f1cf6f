"""The bottom layer: records, errors, policy, keys, time parsing, masking, entity names, frozen decisions, the actor that applies actions, report accumulation. Imports nothing else of telescrub."""
