"""Methods on episodes, and what comes out: ``evaluate`` (methods x episodes, resumable), ``benchmark`` (every
method on identical episodes, all-way K-shot), ``results`` (records, intervals, the results file) and
``report`` (tables and plots)."""
