"""Rum mail: mailer classes with ERB templates, delivered now or later through the job queue."""
