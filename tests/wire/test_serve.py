"""``kvstore serve`` as a user runs it: a subprocess, a start-up line, a clean stop on SIGTERM."""

import os
import re
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTENING = re.compile(r"kvstore listening on (http://127\.0\.0\.1:(\d+)), data (.*) \(durability (\w+)\); (.*)")


class Served:
    def __init__(self, *args, env=None):
        environment = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        environment.update(env or {})
        self.process = subprocess.Popen([sys.executable, "-m", "kvstore", "serve", "--port", "0", *args],
                                        stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT)
        self.lines = []
        while True:
            line = self.process.stderr.readline()
            if not line:
                raise AssertionError("server exited before listening:\n" + "".join(self.lines))
            self.lines.append(line)
            match = LISTENING.search(line)
            if match:
                self.url, self.port, self.data, self.durability, self.auth = match.groups()
                break

    def client(self, **kwargs):
        import boto3
        options = dict(region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
        options.update(kwargs)
        return boto3.client("dynamodb", endpoint_url=self.url, **options)

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        rest = self.process.stderr.read()
        self.lines.append(rest)
        return self.process.wait(timeout=30)


KEYS = dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_data_survives_a_clean_stop_and_restart(tmp_path, sig):
    data = tmp_path / "db"
    served = Served("--data-dir", str(data))
    try:
        assert served.data == str(data) and served.durability == "batch"
        assert "any access key id and secret are accepted" in served.auth
        client = served.client()
        client.create_table(TableName="orders", **KEYS)
        client.put_item(TableName="orders", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    finally:
        code = served.stop(sig)
    assert code == 0
    assert "database closed" in "".join(served.lines)

    served = Served("--data-dir", str(data))
    try:
        item = served.client().get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]
        assert item == {"pk": {"S": "a"}, "n": {"N": "1"}}
    finally:
        assert served.stop() == 0


def test_in_memory_with_credentials_from_the_environment():
    from botocore.exceptions import ClientError
    served = Served("--in-memory", "--durability", "sync",
                    env={"KVSTORE_ACCESS_KEY_ID": "AKIDKV", "KVSTORE_SECRET_ACCESS_KEY": "s3cret"})
    try:
        assert served.data == "in memory" and served.durability == "sync"
        assert "SigV4 verified for 1 access key(s)" in served.auth
        assert served.client(aws_access_key_id="AKIDKV", aws_secret_access_key="s3cret").list_tables()["TableNames"] == []
        with pytest.raises(ClientError) as e:
            served.client().list_tables()
        assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    finally:
        assert served.stop() == 0


def test_a_second_server_on_the_same_directory_fails_clearly(tmp_path):
    data = tmp_path / "db"
    served = Served("--data-dir", str(data))
    try:
        second = subprocess.run([sys.executable, "-m", "kvstore", "serve", "--port", "0", "--data-dir", str(data)],
                                capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert second.returncode == 1
        assert "cannot open database" in second.stderr
    finally:
        served.stop()


def test_tls(tmp_path):
    pytest.importorskip("cryptography")
    cert, key = _self_signed(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "kvstore", "serve", "--in-memory", "--port", "0",
                                "--tls-cert", str(cert), "--tls-key", str(key)],
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = process.stderr.readline()
        while "listening" not in line:
            assert line, "server exited"
            line = process.stderr.readline()
        url = re.search(r"(https://[^,]+)", line).group(1)
        import boto3
        client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", verify=str(cert),
                              aws_access_key_id="a", aws_secret_access_key="b")
        assert client.list_tables()["TableNames"] == []
    finally:
        process.send_signal(signal.SIGTERM)
        process.stderr.read()
        assert process.wait(timeout=30) == 0


def _self_signed(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    import ipaddress
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
