from edgeplug.accounts.management.axes_refused import refusing

Command = refusing("axes_reset_ip_username")
