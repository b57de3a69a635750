from edgetrt.cli.app import main

main()
