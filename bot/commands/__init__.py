"""One module per `nocbot` sub-command, each exposing `add_parser(subparsers)` and `run(args)`."""
