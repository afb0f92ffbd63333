from cart_cli.cli import main

main()
