//! A fixed RSA-2048 key (PKCS#8) for the simulation, TEST USE ONLY: rcgen on the ring
//! backend cannot generate RSA keys, so the key is fixed and the certificate over it is
//! still made by rcgen at run time. Made with `openssl genpkey -algorithm RSA
//! -pkeyopt rsa_keygen_bits:2048`; it protects nothing.

pub const RSA_2048_PKCS8_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCxa2Y7k72SYeHA\n\
QKKWmlgNZHrVmjUds0DXgamGmzD0vzXwbO+s4jAN9U9GpLMOHmJlRip2QE+LcBgl\n\
bK71iAcLsoKTclZVmLbAe6PzRqHPZlh8BzjJwEgxDtGQCxfOcJQk8exFewrD96dO\n\
b7dpTG8bVz8jYYYWRK/+E5glCgFShnBdD6LAU2QLP+hP+lnDXi3XryFBWaUfKYtN\n\
QoQAplyV+xVNYJ4qFyYauK0WExbyVDbF/8daTpsWf6brPahY/lO/ycZphxX3a4p+\n\
tvkrzlsY69HOL3wAEjeEOvTdR9s7T8Y/9uUXFTBPlRxYraHd/3T/4s7ZVzRWW1fz\n\
nabgO1tRAgMBAAECggEARwOuD/q6znTPX5x/d7iftfyaDhWDXTf6pEgKCw7jMZO3\n\
i1yPMqv2gB/Ic4ZJBUW0LMVBCcQEEtPzVkeCYFTqPQxep5YEaI6P18ulfCKxccqN\n\
cFeTq22Dd99ukjFefgshwQf0gnsVfAsMtKCS0Vr+vfrWEtteSFuF9jTxmSHAFb99\n\
3eYHU9Aa0ZoFtWCD74UnZE3mDMHPejimpg7EhNkI8IYtWEOcwebMuD4sIltBMRMh\n\
VPQheEjJE+WbrP+HCJ9BNWmjnDoCuwr+4lSiWXaqmA+ssGs8FntqhKQGL+g7gRr0\n\
5IkVjgM91o0WVvatb+gV0m2ja7k3xBU2MW748Ke0YQKBgQDz/0TU3p1yDQPe/rpe\n\
FHmsCKQJeMPQq+o7aCmyXNE3piVmqXLiZ+znVpktVKwVdfkZPKWed1r2xfQdfQCs\n\
x0yIRL6OQVXmKhGMHGxjAK3cfJLLRtS75x2o29aMWlcZUShPAB93YQkI4HpYWbdY\n\
Rsglcn+n3uyZbDltNayyEOicCwKBgQC6JbK09WP7gFWSpyWo7QcalSPRpgAfmECh\n\
fkzyPTDmsqJox9UrbS/1OyfPYmTc+85ntGUa8k9dJRJLVmUSmVzBhRZfrrwCjH7T\n\
PGRODEdBzfrS2AEUPjNlW1lLWh+5UEnCXDOcpD05X4ogoOnot2f43gClSU1zM7TT\n\
zUVoXGTjkwKBgQCgwd/szFs5qH+TbYsGr0DW6r6BCxMgqhPiXieSv3qMyqe7swrh\n\
Ro2cgb7cUfwrC5Y6XW3VMVg6XIQQ5aoLLCgtY/WUrlFVGwSCprt2oxzptx3UVm+U\n\
+ZneBjGeOWtHX+RJ4I/azJDyS0vwZ/PXcpMtsPmQddy23ModPQ7yJxfKrwKBgCw6\n\
0N+Wfw8/SxXxiU0+JLX4Qe6KlvTq5FB7BiV4zKnEQDrNYKVU6FRIngj0xCqN2llh\n\
z7Q7ZwgmytYDzThCIHwK92n8xseEQo5Ghz7URAoquzJmCLuam/O1ZN42p9sMbLo1\n\
1j2d+L4tKVDfazTUf2vutBCR/kklPA4ndBp7+azpAoGBAMwlnXhdYD5/KINUKYpV\n\
gCLlCZDHELFd/VBFXAIPdoAVhuZvCSmc5gqHL31Q4T/uTx1fiRyfPlXUeJBDT5UC\n\
iF/bGnm+JnZnRWSTtI8gb61Qip3UBmT/JcwxDtog82D/BrVu5guUh4UBPy3z/QXX\n\
zTrns+1X7v32fHukQ2kFWPAd\n\
-----END PRIVATE KEY-----\n\
";
