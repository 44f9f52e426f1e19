"""The link with the central source system: peers, pairing, the signed outbox and inbox."""
