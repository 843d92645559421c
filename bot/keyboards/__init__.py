"""Callback data classes (`CD<Name>`) and keyboard builders, one module per capability."""
