"""LLM category describers at paper scale (docs/method.md §1, issue 3).

Layout, one job per module:
  config   LLMConfig (every option, recorded in run metadata) and Secret (an API key that never prints)
  cache    the SQLite response cache and Batch API ledger: durable progress, so a restart re-pays nothing
  parse    numbered / bulleted / JSON answers -> sentences; refusals; dedup keys; the CLIP length limit
  retry    exponential backoff with jitter, honouring Retry-After
  stats    request, token, cost and cache accounting for the asset metadata
  describer  the chunked generation loop shared by every backend (the `Describer` the stage sees)
  openai_describer / batch / hf_describer   the backends
"""
