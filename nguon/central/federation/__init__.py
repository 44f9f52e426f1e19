"""Federation: Nguồn talking to Nguồn. Signed envelopes (`envelope`), the instance's identity (`identity`), a
guarded HTTP client (`client`), applying what arrives (`receive`) and the sender/puller loop (`sync`).

The wire format is described in docs/central.md ("Federation").
"""
