"""Employer and payroll-processor formats."""
