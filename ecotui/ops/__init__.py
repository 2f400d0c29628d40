"""Actions that change the cluster, done the way kubectl does them (research/clients.md §3).

Data side: never imports textual. Each module offers a read-only *plan* (what will change, for the
preview) and an *apply* that sends the requests through a `KubeAPI` (the session's client, whose write
gate refuses every mutation in read-only mode). Results are `Outcome`s, which the journal records.
"""
