"""Interstate formats: CSENet transactions and the UIFSA intergovernmental forms."""
