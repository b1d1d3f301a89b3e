"""What a person runs: the ``fewshot-tcs`` command (``cli``), the offline ``demo``, and the fit of a customer's
folder of photos (``folder_fit``) with its ``report.html`` (``fit_report``)."""
