"""Links to parent and child instances, pairing codes, and the signed outbox and inbox of federation messages."""
