"""`python -m alltoken.cli`: the same as the `alltoken` command."""
from alltoken.cli.main import main

main()
