"""The routing table that maps a topic on a territory to the tenant that answers it."""
