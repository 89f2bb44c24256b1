#!/usr/bin/env python3
"""Plate camera simulators that speak each vendor's wire protocol over real HTTP.

* AlarmInfoPlate (Vzenith/Qianyi...): `post_alarminfoplate(url, ...)` POSTs the JSON push
  and returns the listener's reply, as a camera does for every vehicle.
* Hikvision ISAPI: `post_hikvision(url, ...)` POSTs the multipart/form-data push
  (anpr.xml + licensePlatePicture.jpg + detectionPicture.jpg).
* Dahua: `DahuaSnapServer` is the camera side of snapManager.cgi?action=attachFileProc:
  a GET answered with a never-ending multipart/x-mixed-replace stream of event parts
  (text/plain key=value, then image/jpeg) and Heartbeat parts.

The body builders (`alarminfoplate_body`, `hikvision_body`, `dahua_event_parts`...) are
also used by tests directly. Standard library only (Pillow, when installed, makes the
snapshots real pictures with the plate drawn on them).

As a script (loopback or a lab network only):
  cameras_sim.py alarminfoplate http://127.0.0.1:8070/camera/aip --plate 冀B12345
  cameras_sim.py hikvision http://127.0.0.1:8070/camera/hik --plate 冀B12345 --color yellow
  cameras_sim.py dahua-server --port 8081 --plate 冀B12345 --every 10
"""
import argparse
import base64
import calendar
import datetime
import io
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CST = datetime.timezone(datetime.timedelta(hours=8))
# An 8x8 grey baseline JPEG (made with Pillow), for when Pillow is not installed.
_FALLBACK_JPEG = base64.b64decode(
    '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdA'
    'SFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/wAALCAAIAAgBAREA/8QAHwAAAQUBAQEBAQEAAAAA'
    'AAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEI'
    'I0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1'
    'dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi'
    '4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/ACv/2Q==')


def sample_jpeg(width=64, height=48, shade=(40, 80, 160)):
    """A small real JPEG (Pillow) or the fixed 8x8 one."""
    try:
        from PIL import Image
    except ImportError:
        return _FALLBACK_JPEG
    out = io.BytesIO()
    Image.new('RGB', (width, height), shade).save(out, 'JPEG', quality=60)
    return out.getvalue()


def _epoch(when):
    """(seconds, microseconds) of an aware datetime (default now)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return calendar.timegm(when.utctimetuple()), when.microsecond


# ---------------------------------------------------------------------------------------
# AlarmInfoPlate
# ---------------------------------------------------------------------------------------

def alarminfoplate_payload(plate='冀B12345', color_type=2, plate_type=4, confidence=95,
                           serialno='e5d5b8e5-37d7a9cd', ipaddr='192.168.1.100', channel=0,
                           plateid=1, when=None, isoffline=0, direction=0, image=None,
                           fragment=None):
    """The dict a camera sends (field names and nesting as the vendors' documents)."""
    sec, usec = _epoch(when)
    local = datetime.datetime.utcfromtimestamp(sec) + datetime.timedelta(hours=8)
    result = {
        'license': plate, 'colorType': color_type, 'type': plate_type,
        'confidence': confidence, 'direction': direction, 'bright': 0, 'carBright': 0,
        'carColor': 0, 'colorValue': 0, 'triggerType': 8, 'timeUsed': 0,
        'location': {'RECT': {'left': 670, 'top': 655, 'right': 811, 'bottom': 690}},
        'timeStamp': {'Timeval': {'sec': sec, 'usec': usec, 'decyear': local.year,
                                  'decmon': local.month, 'decday': local.day,
                                  'dechour': local.hour, 'decmin': local.minute,
                                  'decsec': local.second}},
        'plateid': plateid, 'isoffline': isoffline,
        'imagePath': '/mmc/VzIPCCap/%s_%d.jpg' % (local.strftime('%Y_%m_%d'), plateid),
    }
    image = sample_jpeg() if image is None else image
    if image:
        result['imageFile'] = base64.b64encode(image).decode('ascii')
        result['imageFileLen'] = len(image)
    if fragment:
        result['imageFragmentFile'] = base64.b64encode(fragment).decode('ascii')
        result['imageFragmentFileLen'] = len(fragment)
    return {'AlarmInfoPlate': {'channel': channel, 'deviceName': 'IVS', 'ipaddr': ipaddr,
                               'serialno': serialno, 'user_data': '',
                               'result': {'PlateResult': result}}}


def alarminfoplate_body(**fields):
    """The request body bytes (UTF-8 JSON, Chinese not escaped, as cameras send it)."""
    return json.dumps(alarminfoplate_payload(**fields), ensure_ascii=False).encode('utf-8')


def _post(url, body, content_type, timeout):
    request = urllib.request.Request(url, data=body, method='POST',
                                     headers={'Content-Type': content_type,
                                              'User-Agent': 'env-gate-camera-sim'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_alarminfoplate(url, timeout=5, **fields):
    """POST one read; returns (status, reply dict or None, body sent)."""
    body = alarminfoplate_body(**fields)
    status, answer = _post(url, body, 'application/json', timeout)
    try:
        parsed = json.loads(answer.decode('utf-8'))
    except ValueError:
        parsed = None
    return status, parsed, body


# ---------------------------------------------------------------------------------------
# Hikvision ISAPI
# ---------------------------------------------------------------------------------------

HIK_NS = 'http://www.hikvision.com/ver20/XMLSchema'
ISAPI_NS = 'http://www.isapi.org/ver20/XMLSchema'


def _xml_escape(text):
    return (str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;'))


def hikvision_xml(plate='冀B12345', color='yellow', confidence=98, direction='forward',
                  when=None, mac='44:19:b6:6d:24:85', channel=1, active_post_count=1,
                  namespace=HIK_NS, heartbeat=False, original_plate=None,
                  retransmission=False):
    """The <EventNotificationAlert> of an ANPR push (or of a heartbeat).

    `active_post_count=None` sends an empty `<activePostCount/>`, as some firmware does.
    """
    when = (when or datetime.datetime.now(CST)).astimezone(CST)
    stamp = when.strftime('%Y-%m-%dT%H:%M:%S+08:00')
    xmlns = ' xmlns="%s"' % namespace if namespace else ''
    count = '<activePostCount/>' if active_post_count is None \
        else '<activePostCount>%s</activePostCount>' % active_post_count
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<EventNotificationAlert version="2.0"%s>' % xmlns,
        '<ipAddress>192.168.1.64</ipAddress>', '<portNo>80</portNo>', '<protocol>HTTP</protocol>',
        '<macAddress>%s</macAddress>' % mac, '<channelID>%s</channelID>' % channel,
        '<dateTime>%s</dateTime>' % stamp, count,
        '<eventType>%s</eventType>' % ('videoloss' if heartbeat else 'ANPR'),
        '<eventState>%s</eventState>' % ('inactive' if heartbeat else 'active'),
        '<eventDescription>%s</eventDescription>' % ('videoloss alarm' if heartbeat else 'ANPR'),
        '<channelName>Gate IN</channelName>',
    ]
    if not heartbeat:
        lines += [
            '<ANPR>', '<country>3</country>',
            '<licensePlate>%s</licensePlate>' % _xml_escape(plate),
            '<line>1</line>', '<direction>%s</direction>' % direction,
            '<confidenceLevel>%s</confidenceLevel>' % confidence,
            '<plateType>92TypeCivil</plateType>', '<plateColor>%s</plateColor>' % color,
            '<licenseBright>0</licenseBright>', '<dangmark>no</dangmark>',
            '<twoWheelVehicle>no</twoWheelVehicle>', '<threeWheelVehicle>no</threeWheelVehicle>',
            '<vehicleType>truck</vehicleType>', '<detectDir>8</detectDir>',
            '<vehicleInfo><index>1</index><colorDepth>0</colorDepth><color>white</color>'
            '<length>0</length><vehicleLogoRecog>1036</vehicleLogoRecog></vehicleInfo>',
            '<pictureInfoList>',
            '<pictureInfo><fileName>licensePlatePicture.jpg</fileName>'
            '<type>licensePlatePicture</type><dataType>0</dataType></pictureInfo>',
            '<pictureInfo><fileName>detectionPicture.jpg</fileName>'
            '<type>detectionPicture</type><dataType>0</dataType></pictureInfo>',
            '</pictureInfoList>',
        ]
        if original_plate is not None:
            lines.append('<originalLicensePlate>%s</originalLicensePlate>'
                         % _xml_escape(original_plate))
        lines.append('</ANPR>')
    lines += ['<UUID>51bd4a5a-0fe6-11ef-8000-4419b66d2485</UUID>',
              '<picNum>%d</picNum>' % (0 if heartbeat else 2),
              '<isDataRetransmission>%s</isDataRetransmission>'
              % ('true' if retransmission else 'false'),
              '</EventNotificationAlert>']
    return '\r\n'.join(lines).encode('utf-8')


def multipart_form(parts, boundary):
    """multipart/form-data bytes of [(name, filename, content_type, bytes)], CRLF lines."""
    out = []
    for name, filename, content_type, data in parts:
        out.append(b'--' + boundary.encode('ascii') + b'\r\n')
        disposition = 'Content-Disposition: form-data; name="%s"' % name
        if filename:
            disposition += '; filename="%s"' % filename
        out.append(disposition.encode('utf-8') + b'\r\n')
        out.append(('Content-Type: %s\r\n' % content_type).encode('ascii'))
        out.append(('Content-Length: %d\r\n\r\n' % len(data)).encode('ascii'))
        out.append(data + b'\r\n')
    out.append(b'--' + boundary.encode('ascii') + b'--\r\n')
    return b''.join(out)


def hikvision_body(boundary='MIME_boundary_7b2f1c', plate_picture=None,
                   detection_picture=None, **xml_fields):
    """(content_type, body) of one ISAPI ANPR push with its two pictures."""
    parts = [('anpr.xml', 'anpr.xml', 'application/xml; charset="UTF-8"',
              hikvision_xml(**xml_fields))]
    if not xml_fields.get('heartbeat'):
        parts.append(('licensePlatePicture.jpg', 'licensePlatePicture.jpg', 'image/jpeg',
                      plate_picture or sample_jpeg(32, 12, (20, 60, 200))))
        parts.append(('detectionPicture.jpg', 'detectionPicture.jpg', 'image/jpeg',
                      detection_picture or sample_jpeg()))
    return 'multipart/form-data; boundary=%s' % boundary, multipart_form(parts, boundary)


def post_hikvision(url, timeout=5, **fields):
    """POST one ISAPI push; returns (status, reply bytes, content_type, body sent)."""
    content_type, body = hikvision_body(**fields)
    status, answer = _post(url, body, content_type, timeout)
    return status, answer, content_type, body


# ---------------------------------------------------------------------------------------
# Dahua snapManager stream
# ---------------------------------------------------------------------------------------

BOUNDARY = b'myboundary'


def dahua_part(content_type, payload, with_length=True):
    """One stream part: delimiter, headers, blank line, payload, CRLF."""
    head = b'--' + BOUNDARY + b'\r\nContent-Type: ' + content_type.encode('ascii') + b'\r\n'
    if with_length:
        head += b'Content-Length: %d\r\n' % len(payload)
    return head + b'\r\n' + payload + b'\r\n'


def dahua_event_text(plate='冀B12345', color='Yellow', park_type=1, lane=1, when=None,
                     rec_no=1, event_id=1001):
    """The text/plain payload of a TrafficJunction event (key=value lines, CRLF)."""
    sec, usec = _epoch(when)
    local = datetime.datetime.utcfromtimestamp(sec) + datetime.timedelta(hours=8)
    lines = [
        'Events[0].EventBaseInfo.Code=TrafficJunction',
        'Events[0].EventBaseInfo.Action=Pulse',
        'Events[0].Code=TrafficJunction',
        'Events[0].Action=Pulse',
        'Events[0].EventID=%d' % event_id,
        'Events[0].GroupID=%d' % event_id,
        'Events[0].CountInGroup=1',
        'Events[0].IndexInGroup=0',
        'Events[0].Lane=%s' % lane,
        'Events[0].UTC=%d' % sec,
        'Events[0].UTCMS=%d' % (usec // 1000),
        'Events[0].LocalTime=%s' % local.strftime('%Y-%m-%d %H:%M:%S'),
        'Events[0].TrafficCar.PlateNumber=%s' % plate,
        'Events[0].TrafficCar.PlateColor=%s' % color,
        'Events[0].TrafficCar.PlateType=Yellow',
        'Events[0].TrafficCar.VehicleColor=White',
        'Events[0].TrafficCar.RecNo=%d' % rec_no,
        'Events[0].TrafficCar.Lane=%s' % lane,
        'Events[0].CommInfo.ParkType=%s' % park_type,
        'Events[0].Object.ObjectType=Plate',
        'Events[0].Object.Text=%s' % plate,
    ]
    return ('\r\n'.join(lines) + '\r\n').encode('utf-8')


def dahua_event_parts(with_length=True, image=None, **fields):
    """The two parts of one event: its text, then its snapshot."""
    return (dahua_part('text/plain', dahua_event_text(**fields), with_length)
            + dahua_part('image/jpeg', sample_jpeg() if image is None else image, with_length))


def dahua_heartbeat_part(with_length=True):
    return dahua_part('text/plain', b'Heartbeat', with_length)


class _DahuaHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'       # the stream ends when the connection closes
    server_version = 'Webs'

    def log_message(self, *args):       # quiet: tests print enough
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path != '/cgi-bin/snapManager.cgi' or query.get('action') != 'attachFileProc':
            self.send_error(404, 'unknown request')
            return
        try:
            heartbeat = max(0.05, float(query.get('heartbeat', 5)))
        except ValueError:
            self.send_error(400, 'bad heartbeat')
            return
        sim = self.server.sim
        outbox = sim._subscribe()
        self.send_response(200)
        self.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=myboundary')
        self.send_header('Connection', 'close')
        self.end_headers()
        try:
            for chunk in list(sim.initial):
                self.wfile.write(chunk)
            self.wfile.flush()
            while not sim._stopping.is_set():
                try:
                    chunk = outbox.get(timeout=heartbeat)
                except queue.Empty:
                    chunk = dahua_heartbeat_part(sim.with_length)
                if chunk is None:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            sim._unsubscribe(outbox)


class DahuaSnapServer(object):
    """A Dahua camera's event stream on 127.0.0.1 (port 0 = any free port).

    `initial` (list of bytes) is sent to every new subscriber first; `push_event(**f)`
    sends an event to everyone connected; heartbeats follow the subscriber's `heartbeat`
    query parameter (fractions of a second allowed here, for fast tests).
    """

    def __init__(self, host='127.0.0.1', port=0, initial=None, with_length=True):
        self.initial = list(initial or [])
        self.with_length = with_length
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._outboxes = []
        self._httpd = ThreadingHTTPServer((host, port), _DahuaHandler)
        self._httpd.daemon_threads = True
        self._httpd.sim = self
        self._thread = None

    @property
    def url(self):
        host, port = self._httpd.server_address[:2]
        return 'http://%s:%d' % (host, port)

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={'poll_interval': 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        with self._lock:
            for outbox in self._outboxes:
                outbox.put(None)
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def push(self, chunk):
        """Send raw stream bytes to every subscriber."""
        with self._lock:
            for outbox in self._outboxes:
                outbox.put(chunk)

    def push_event(self, **fields):
        self.push(dahua_event_parts(with_length=self.with_length, **fields))

    def subscribers(self):
        with self._lock:
            return len(self._outboxes)

    def _subscribe(self):
        outbox = queue.Queue()
        with self._lock:
            self._outboxes.append(outbox)
        return outbox

    def _unsubscribe(self, outbox):
        with self._lock:
            if outbox in self._outboxes:
                self._outboxes.remove(outbox)


# ---------------------------------------------------------------------------------------
# Script
# ---------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command')
    for name in ('alarminfoplate', 'hikvision'):
        push = sub.add_parser(name, help='POST one read to URL')
        push.add_argument('url')
        push.add_argument('--plate', default='冀B12345')
        push.add_argument('--color', default=None,
                          help='colorType number (alarminfoplate) or name (hikvision)')
        push.add_argument('--count', type=int, default=1)
        push.add_argument('--offline', action='store_true')
    server = sub.add_parser('dahua-server', help='serve a snapManager event stream')
    server.add_argument('--port', type=int, default=8081)
    server.add_argument('--plate', default='冀B12345')
    server.add_argument('--every', type=float, default=10.0, help='seconds between events')
    args = parser.parse_args(argv)

    if args.command == 'alarminfoplate':
        for number in range(args.count):
            status, reply, _body = post_alarminfoplate(
                args.url, plate=args.plate, plateid=number + 1, isoffline=int(args.offline),
                color_type=int(args.color) if args.color else 2)
            print(status, json.dumps(reply, ensure_ascii=False))
    elif args.command == 'hikvision':
        for number in range(args.count):
            status, reply, _ctype, _body = post_hikvision(
                args.url, plate=args.plate, color=args.color or 'yellow',
                active_post_count=number + 1, retransmission=args.offline)
            print(status, reply.decode('utf-8', 'replace')[:200])
    elif args.command == 'dahua-server':
        sim = DahuaSnapServer(port=args.port).start()
        print('Dahua stream at %s/cgi-bin/snapManager.cgi?action=attachFileProc&Flags[0]=Event'
              '&Events=[TrafficJunction]&heartbeat=5 (Ctrl+C stops)' % sim.url)
        number = 0
        try:
            while True:
                time.sleep(args.every)
                number += 1
                sim.push_event(plate=args.plate, rec_no=number, event_id=1000 + number)
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
    else:
        parser.print_help()
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
