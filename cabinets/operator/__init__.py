"""The operator's pages under /operator: the topic catalog, the routing table with its
coverage and route tester, and the queue of messages nobody answers."""
