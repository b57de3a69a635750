from edgetrt.cli.entry import main

main()
